using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace MyChips.Data.Domain;

/// <summary>
/// One state change in progress (DESIGN.md 3): the locked tally halves and chits it loaded, and the writes it
/// will make. Reads lock with <c>FOR UPDATE</c>; writes are collected and sent as one batch at the end, so a
/// payment between two local users costs one locking read and one write round trip inside the fenced transaction.
/// </summary>
public sealed partial class DomainTransaction
{
    internal const string TallyColumns =
        """
        t.tally_id, t.user_id, u.cuid, t.tally_uuid, t.tally_type, t.version, t.revision, t.tally_date, t.memo, t.agree::text,
        t.hold_cert::text, t.part_cert::text, t.hold_terms::text, t.part_terms::text, t.hold_sig, t.part_sig, t.part_cuid,
        t.part_agent, t.status, t.request, t.digest, t.chain_conf, t.chain_last, t.chain_hash, t.hold_sets::text,
        t.part_sets::text, t.target, t.bound, t.reward, t.clutch, t.net, t.net_pending, t.pending_chits
        """;

    internal const string ChitColumns =
        """
        c.tally_id, t.tally_uuid, c.chit_uuid, c.chit_type, c.issuer, c.chit_date, c.units, c.reference::text, c.memo,
        c.signature, c.status, c.request, c.digest, c.chain_idx, c.chain_prev, c.chain_dgst
        """;

    private readonly Dictionary<Guid, List<TallyHalf>> _tallies = [];
    private readonly List<ChitRecord> _chits = [];
    private readonly HashSet<(Guid Tally, Guid Chit)> _chitsLoaded = [];
    private readonly List<NpgsqlBatchCommand> _writes = [];
    private readonly Dictionary<long, JsonArray> _events = [];

    internal DomainTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, SiteAgent agent, CancellationToken cancellationToken)
    {
        Connection = connection;
        Transaction = transaction;
        Agent = agent;
        CancellationToken = cancellationToken;
    }

    public NpgsqlConnection Connection { get; }

    public NpgsqlTransaction Transaction { get; }

    /// <summary>This site's agent: messages addressed to it are delivered locally.</summary>
    public SiteAgent Agent { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>Signatures verified in this transaction: (key JWK, signature, SHA-256 of the signed bytes).</summary>
    internal HashSet<(string Key, string Signature, string Data)> Verified { get; } = [];

    /// <summary>Users whose push channel is woken once this transaction has committed.</summary>
    internal List<long> NotifyUsers { get; } = [];

    /// <summary>
    /// Messages the context guard left without effect, each with our record's state and what the message asked; the
    /// peer receive path logs them (a message is never dropped silently).
    /// </summary>
    internal List<string> Ignored { get; } = [];

    internal void Ignore(string note) => Ignored.Add(note);

    /// <summary>True when a message was queued in the outbox (the senders are woken after commit).</summary>
    internal bool OutboxWritten { get; set; }

    /// <summary>
    /// Locks every local half of a tally (ordered by id, so two transactions on one tally cannot deadlock) and,
    /// when <paramref name="chit"/> is given, loads that chit on each half. Repeated calls use what is loaded.
    /// </summary>
    public async Task<IReadOnlyList<TallyHalf>> LockTallyAsync(Guid tally, Guid? chit = null)
    {
        var needChit = chit is { } c && !_chitsLoaded.Contains((tally, c));
        if (_tallies.TryGetValue(tally, out var loaded) && !needChit)
            return loaded;

        await FlushAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(Connection, Transaction);
        if (loaded is null)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"SELECT {TallyColumns} FROM mychips.tallies t JOIN mychips.users u USING (user_id) WHERE t.tally_uuid = $1 ORDER BY t.tally_id FOR UPDATE OF t")
            {
                Parameters = { new NpgsqlParameter<Guid> { TypedValue = tally } },
            });
        }

        if (needChit)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"SELECT {ChitColumns} FROM mychips.chits c JOIN mychips.tallies t ON t.tally_id = c.tally_id WHERE c.chit_uuid = $2 AND t.tally_uuid = $1")
            {
                Parameters = { new NpgsqlParameter<Guid> { TypedValue = tally }, new NpgsqlParameter<Guid> { TypedValue = chit!.Value } },
            });
        }

        await using var reader = await batch.ExecuteReaderAsync(CancellationToken).ConfigureAwait(false);
        if (loaded is null)
        {
            loaded = [];
            while (await reader.ReadAsync(CancellationToken).ConfigureAwait(false))
            {
                var half = ReadTally(reader);
                half.LoadedState = half.State;
                loaded.Add(half);
            }

            _tallies[tally] = loaded;
            await reader.NextResultAsync(CancellationToken).ConfigureAwait(false);
        }

        if (needChit)
        {
            while (await reader.ReadAsync(CancellationToken).ConfigureAwait(false))
            {
                var loadedChit = ReadChit(reader);
                loadedChit.LoadedStatus = loadedChit.Status;
                _chits.Add(loadedChit);
            }

            _chitsLoaded.Add((tally, chit!.Value));
        }

        return loaded;
    }

    /// <summary>The chit with <paramref name="uuid"/> on <paramref name="half"/>, loading it when needed.</summary>
    public async Task<ChitRecord?> FindChitAsync(TallyHalf half, Guid uuid)
    {
        if (!_chitsLoaded.Contains((half.Uuid, uuid)))
            await LockTallyAsync(half.Uuid, uuid).ConfigureAwait(false);
        foreach (var chit in _chits)
        {
            if (chit.Uuid == uuid && chit.TallyId == half.TallyId)
                return chit;
        }

        return null;
    }

    /// <summary>Adds a half created in this transaction (written at once: chits may refer to its id).</summary>
    public async Task AddTallyAsync(TallyHalf half)
    {
        await FlushAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO mychips.tallies (user_id, tally_uuid, tally_type, version, revision, tally_date, memo, agree, hold_cert, part_cert,
                hold_terms, part_terms, hold_sig, part_sig, part_cuid, part_agent, status, request)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10::jsonb, $11::jsonb, $12::jsonb, $13, $14, $15, $16, $17, $18)
            RETURNING tally_id
            """, Connection, Transaction)
        {
            Parameters =
            {
                P(half.UserId), P(half.Uuid), P(half.Type), P(half.Version), P(half.Revision), P(half.Date), P(half.Memo),
                P(half.AgreeColumn.Text), P(half.HoldCertColumn.Text), P(half.PartCertColumn.Text), P(half.HoldTermsColumn.Text),
                P(half.PartTermsColumn.Text), P(half.HoldSig), P(half.PartSig), P(half.PartCuid), P(half.PartAgent), P(half.Status), P(half.Request),
            },
        };
        half.TallyId = (long)(await command.ExecuteScalarAsync(CancellationToken).ConfigureAwait(false))!;
        if (!_tallies.TryGetValue(half.Uuid, out var list))
            _tallies[half.Uuid] = list = [];
        list.Add(half);
    }

    /// <summary>Tracks a chit created in this transaction; it is inserted with the final writes.</summary>
    public void AddChit(ChitRecord chit)
    {
        chit.IsNew = true;
        chit.Touch();
        _chits.Add(chit);
        _chitsLoaded.Add((chit.TallyUuid, chit.Uuid));
    }

    /// <summary>Queues an event for a user's push channel (written and NOTIFYed with the final writes).</summary>
    public void Emit(long userId, JsonObject evt)
    {
        if (!_events.TryGetValue(userId, out var list))
            _events[userId] = list = [];
        list.Add(evt);
    }

    /// <summary>Queues a write to run with the others, in order.</summary>
    public void Enqueue(NpgsqlBatchCommand command) => _writes.Add(command);

    /// <summary>Writes the dirty halves and chits, the queued writes and the events: one batch.</summary>
    internal async Task CompleteAsync()
    {
        // Each half by primary key (an UPDATE ... FROM unnest measured slower: it joins instead of probing the key);
        // the chits of the transaction in one INSERT.
        foreach (var list in _tallies.Values)
        {
            foreach (var half in list)
            {
                if (half.Dirty)
                    _writes.Add(UpdateTally(half));
                half.Dirty = false;
                if (half.LoadedState is { } was && was != half.State)
                    OutboxWithdrawal.TallyMoved(this, half);
                half.LoadedState = half.State;
            }
        }

        foreach (var chit in _chits)
        {
            if (chit.LoadedStatus is { } was && was != chit.Status && HalfOf(chit) is { } holder)
                OutboxWithdrawal.ChitMoved(this, holder, chit);
            chit.LoadedStatus = chit.Status;
        }

        var inserts = new List<ChitRecord>();
        foreach (var chit in _chits)
        {
            if (chit.Dirty && chit.IsNew)
                inserts.Add(chit);
            else if (chit.Dirty)
                _writes.Add(UpdateChit(chit));
            chit.Dirty = false;
            chit.IsNew = false;
        }

        if (inserts.Count > 0)
            _writes.Add(InsertChits(inserts));

        if (_events.Count > 0)
        {
            var users = _events.Keys.ToArray();
            var events = _events.Values.Select(e => e.ToJsonString()).ToArray();
            _writes.Add(new NpgsqlBatchCommand(
                """
                INSERT INTO mychips.user_events (user_id, events) SELECT * FROM unnest($1::bigint[], $2::jsonb[])
                """)
            {
                Parameters =
                {
                    new NpgsqlParameter<long[]> { TypedValue = users },
                    new NpgsqlParameter<string[]> { TypedValue = events, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                },
            });
            NotifyUsers.AddRange(users);
            _events.Clear();
        }

        await FlushAsync().ConfigureAwait(false);
    }

    private TallyHalf? HalfOf(ChitRecord chit)
    {
        foreach (var list in _tallies.Values)
        {
            foreach (var half in list)
            {
                if (half.TallyId == chit.TallyId)
                    return half;
            }
        }

        return null;
    }

    private async Task FlushAsync()
    {
        if (_writes.Count == 0)
            return;
        await using var batch = new NpgsqlBatch(Connection, Transaction);
        foreach (var command in _writes)
            batch.BatchCommands.Add(command);
        _writes.Clear();
        await batch.ExecuteNonQueryAsync(CancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlBatchCommand UpdateTally(TallyHalf h)
    {
        var command = new NpgsqlBatchCommand();
        var p = command.Parameters;
        p.Add(P(h.TallyId));
        var sql = new System.Text.StringBuilder("UPDATE mychips.tallies SET updated_at = now()");
        void Set(string column, NpgsqlParameter value, string cast = "")
        {
            p.Add(value);
            sql.Append(", ").Append(column).Append(" = $").Append(p.Count).Append(cast);
        }

        Set("revision", P(h.Revision));
        Set("memo", P(h.Memo));
        Set("hold_sig", P(h.HoldSig));
        Set("part_sig", P(h.PartSig));
        Set("part_cuid", P(h.PartCuid));
        Set("part_agent", P(h.PartAgent));
        Set("status", P(h.Status));
        Set("request", P(h.Request));
        Set("digest", P(h.Digest));
        Set("chain_conf", P(h.ChainConf));
        Set("chain_last", P(h.ChainLast));
        Set("chain_hash", P(h.ChainHash));
        Set("target", P(h.Target));
        Set("bound", P(h.Bound));
        Set("reward", P(h.Reward));
        Set("clutch", P(h.Clutch));
        Set("net", P(h.Net));
        Set("net_pending", P(h.NetPending));
        Set("pending_chits", P(h.PendingChits));
        // The JSON columns only when replaced: a payment leaves them alone.
        if (h.HoldSetsColumn.Changed) Set("hold_sets", P(h.HoldSetsColumn.Text), "::jsonb");
        if (h.PartSetsColumn.Changed) Set("part_sets", P(h.PartSetsColumn.Text), "::jsonb");
        if (h.HoldTermsColumn.Changed) Set("hold_terms", P(h.HoldTermsColumn.Text), "::jsonb");
        if (h.PartTermsColumn.Changed) Set("part_terms", P(h.PartTermsColumn.Text), "::jsonb");
        if (h.PartCertColumn.Changed) Set("part_cert", P(h.PartCertColumn.Text), "::jsonb");
        if (h.HoldCertColumn.Changed) Set("hold_cert", P(h.HoldCertColumn.Text), "::jsonb");
        if (h.AgreeColumn.Changed) Set("agree", P(h.AgreeColumn.Text), "::jsonb");
        if (h.DateChanged) Set("tally_date", P(h.Date));
        sql.Append(" WHERE tally_id = $1");
        command.CommandText = sql.ToString();
        return command;
    }

    private static NpgsqlBatchCommand InsertChits(List<ChitRecord> c) => new(
        """
        INSERT INTO mychips.chits (tally_id, chit_uuid, chit_type, issuer, chit_date, units, reference, memo, signature, status, request,
            digest, chain_idx, chain_prev, chain_dgst)
        SELECT tally_id, chit_uuid, chit_type, issuer, chit_date, units, reference::jsonb, memo, signature, status, request,
            digest, chain_idx, chain_prev, chain_dgst
        FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[], $7::text[], $8::text[], $9::text[],
            $10::text[], $11::text[], $12::bytea[], $13::int[], $14::bytea[], $15::bytea[])
            AS v(tally_id, chit_uuid, chit_type, issuer, chit_date, units, reference, memo, signature, status, request, digest, chain_idx, chain_prev, chain_dgst)
        """)
    {
        Parameters =
        {
            A(c, x => x.TallyId), A(c, x => x.Uuid), A(c, x => x.Type), A(c, x => x.By), A(c, x => x.Date), A(c, x => x.Units),
            A(c, x => x.RefColumn.Text), A(c, x => x.Memo), A(c, x => x.Signature), A(c, x => x.Status), A(c, x => x.Request),
            A(c, x => x.Digest), A(c, x => x.ChainIdx), A(c, x => x.ChainPrev), A(c, x => x.ChainDgst),
        },
    };

    private static NpgsqlParameter<TValue[]> A<TItem, TValue>(List<TItem> items, Func<TItem, TValue> value)
    {
        var array = new TValue[items.Count];
        for (var i = 0; i < array.Length; i++)
            array[i] = value(items[i]);
        return new NpgsqlParameter<TValue[]> { TypedValue = array };
    }

    private static NpgsqlBatchCommand UpdateChit(ChitRecord c) => new(
        """
        UPDATE mychips.chits SET signature = $3, status = $4, request = $5, digest = $6, chain_idx = $7, chain_prev = $8, chain_dgst = $9,
            updated_at = now()
        WHERE tally_id = $1 AND chit_uuid = $2
        """)
    {
        Parameters =
        {
            P(c.TallyId), P(c.Uuid), P(c.Signature), P(c.Status), P(c.Request), P(c.Digest), P(c.ChainIdx), P(c.ChainPrev), P(c.ChainDgst),
        },
    };

    internal static TallyHalf ReadTally(NpgsqlDataReader r) => new()
    {
        TallyId = r.GetInt64(0),
        UserId = r.GetInt64(1),
        HoldCuid = r.GetString(2),
        Uuid = r.GetGuid(3),
        Type = r.GetString(4),
        Version = r.GetInt32(5),
        Revision = r.GetInt32(6),
        Date = r.GetFieldValue<DateTimeOffset>(7),
        Memo = r.IsDBNull(8) ? null : r.GetString(8),
        AgreeColumn = new JsonColumn(r.GetString(9)),
        HoldCertColumn = new JsonColumn(r.GetString(10)),
        PartCertColumn = new JsonColumn(r.IsDBNull(11) ? null : r.GetString(11)),
        HoldTermsColumn = new JsonColumn(r.GetString(12)),
        PartTermsColumn = new JsonColumn(r.GetString(13)),
        HoldSig = r.IsDBNull(14) ? null : r.GetString(14),
        PartSig = r.IsDBNull(15) ? null : r.GetString(15),
        PartCuid = r.IsDBNull(16) ? null : r.GetString(16),
        PartAgent = r.IsDBNull(17) ? null : r.GetString(17),
        Status = r.GetString(18),
        Request = r.IsDBNull(19) ? null : r.GetString(19),
        Digest = r.IsDBNull(20) ? null : r.GetFieldValue<byte[]>(20),
        ChainConf = r.IsDBNull(21) ? null : r.GetInt32(21),
        ChainLast = r.GetInt32(22),
        ChainHash = r.IsDBNull(23) ? null : r.GetFieldValue<byte[]>(23),
        HoldSetsColumn = new JsonColumn(r.GetString(24)),
        PartSetsColumn = new JsonColumn(r.GetString(25)),
        Target = r.GetInt64(26),
        Bound = r.GetInt64(27),
        Reward = r.GetDecimal(28),
        Clutch = r.GetDecimal(29),
        Net = r.GetInt64(30),
        NetPending = r.GetInt64(31),
        PendingChits = r.GetInt32(32),
        DateChanged = false,
    };

    internal static ChitRecord ReadChit(NpgsqlDataReader r) => new()
    {
        TallyId = r.GetInt64(0),
        TallyUuid = r.GetGuid(1),
        Uuid = r.GetGuid(2),
        Type = r.GetString(3),
        By = r.GetString(4),
        Date = r.GetFieldValue<DateTimeOffset>(5),
        Units = r.IsDBNull(6) ? null : r.GetInt64(6),
        RefColumn = new JsonColumn(r.IsDBNull(7) ? null : r.GetString(7)),
        Memo = r.IsDBNull(8) ? null : r.GetString(8),
        Signature = r.IsDBNull(9) ? null : r.GetString(9),
        Status = r.GetString(10),
        Request = r.IsDBNull(11) ? null : r.GetString(11),
        Digest = r.IsDBNull(12) ? null : r.GetFieldValue<byte[]>(12),
        ChainIdx = r.IsDBNull(13) ? null : r.GetInt32(13),
        ChainPrev = r.IsDBNull(14) ? null : r.GetFieldValue<byte[]>(14),
        ChainDgst = r.IsDBNull(15) ? null : r.GetFieldValue<byte[]>(15),
    };

    private static NpgsqlParameter P<T>(T value) => value is null
        ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = DbTypeOf<T>() }
        : new NpgsqlParameter<T> { TypedValue = value };

    private static NpgsqlDbType DbTypeOf<T>()
    {
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return type == typeof(string) ? NpgsqlDbType.Text
            : type == typeof(int) ? NpgsqlDbType.Integer
            : type == typeof(long) ? NpgsqlDbType.Bigint
            : type == typeof(byte[]) ? NpgsqlDbType.Bytea
            : type == typeof(Guid) ? NpgsqlDbType.Uuid
            : type == typeof(decimal) ? NpgsqlDbType.Numeric
            : type == typeof(DateTimeOffset) ? NpgsqlDbType.TimestampTz
            : NpgsqlDbType.Unknown;
    }
}
