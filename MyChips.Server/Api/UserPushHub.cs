using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using MyChips.Data.Domain;
using MyChips.Server.Hosting;
using Npgsql;

namespace MyChips.Server.Api;

/// <summary>
/// The push fan-out of one instance. One LISTEN connection hears <c>NOTIFY mychips_user, '&lt;user id&gt;'</c> (from
/// any instance); one dispatch loop then reads the new <c>mychips.user_events</c> of every woken user with open sockets
/// in ONE round trip, re-checks those sockets' sessions in the same round trip, and hands the rows to the sockets in
/// memory. So a burst of events costs one query per batch, not one per socket per event, and this instance holds at
/// most two database connections for push however many sockets are open. The payload is only a hint; a lost
/// notification costs at most the periodic pass (every <c>Domain:SessionCacheTime</c>, 1-5 s), which also re-checks
/// every socket's session, so a session ended any way (logout, a disabled user, a revoked key) closes its sockets
/// on every instance within that time; a logout wakes its user's sockets at once.
/// Sockets are capped per user and in total (<c>Web:MaxSocketsPerUser</c>, <c>Web:MaxSockets</c>).
/// </summary>
internal sealed class UserPushHub : BackgroundService
{
    private const int RowsPerUser = 200;
    private static readonly PushEnd Stopping = new(WebSocketCloseStatus.EndpointUnavailable, "server stopping");

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<UserPushHub> _logger;
    private readonly TimeSpan _passInterval;
    private readonly ConcurrentDictionary<long, ConcurrentDictionary<PushSubscriber, byte>> _subscribers = new();
    private readonly ConcurrentDictionary<long, byte> _dirty = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly PartitionedRateLimiter<long> _perUser;
    private readonly ConcurrencyLimiter _total;
    private readonly string _batchSessionSql;
    private readonly CancellationToken _stopping;
    private int _wakeAll;
    private long _fanoutQueries;
    private long _refusedPerUser;
    private long _refusedTotal;
    private long _sessionsEnded;
    private int _sockets;

    public UserPushHub(NpgsqlDataSource dataSource, IOptions<WebListenerOptions> web, IOptions<DomainOptions> domain, IHostApplicationLifetime lifetime,
        ILogger<UserPushHub> logger)
    {
        _dataSource = dataSource;
        _logger = logger;
        var cache = domain.Value.SessionCacheTime;
        _passInterval = cache < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : cache > TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : cache;
        var perUser = web.Value.MaxSocketsPerUser;
        _perUser = PartitionedRateLimiter.Create<long, long>(user =>
            RateLimitPartition.GetConcurrencyLimiter(user, _ => new ConcurrencyLimiterOptions { PermitLimit = perUser, QueueLimit = 0 }));
        _total = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = web.Value.MaxSockets, QueueLimit = 0 });
        _batchSessionSql = $"SELECT h.hash FROM unnest($1::bytea[]) AS h(hash) WHERE NOT EXISTS (SELECT 1 {Sessions.ValidSessionFrom("h.hash")})";
        // Sockets end with "going away" as soon as the host stops, so a drain does not wait for them.
        _stopping = lifetime.ApplicationStopping;
        _stopping.Register(() => EndAll(Stopping));
    }

    /// <summary>Socket slots held on this instance (the sockets counted against <c>Web:MaxSockets</c>).</summary>
    public int Sockets => Volatile.Read(ref _sockets);

    /// <summary>Fan-out round trips so far (each reads the events of every woken user and re-checks their sessions).</summary>
    public long FanoutQueries => Interlocked.Read(ref _fanoutQueries);

    /// <summary>
    /// Takes a socket slot for the user, or refuses (429 <c>too_many_sockets</c> over the user's cap,
    /// <c>socket_limit_reached</c> over the instance's). Dispose the lease when the socket ends.
    /// </summary>
    public IDisposable Reserve(long userId)
    {
        var user = _perUser.AttemptAcquire(userId);
        if (!user.IsAcquired)
        {
            user.Dispose();
            Interlocked.Increment(ref _refusedPerUser);
            throw new DomainException("too_many_sockets", "This user already holds the most push sockets allowed; close one first.", 429);
        }

        var total = _total.AttemptAcquire();
        if (!total.IsAcquired)
        {
            total.Dispose();
            user.Dispose();
            Interlocked.Increment(ref _refusedTotal);
            throw new DomainException("socket_limit_reached", "This server holds the most push sockets it allows; try again later.", 429);
        }

        Interlocked.Increment(ref _sockets);
        return new Leases(this, user, total);
    }

    public void Add(PushSubscriber subscriber)
    {
        _subscribers.GetOrAdd(subscriber.UserId, _ => new()).TryAdd(subscriber, 0);
        if (_stopping.IsCancellationRequested)
            subscriber.Finish(Stopping);
        Wake(subscriber.UserId);
    }

    public void Remove(PushSubscriber subscriber)
    {
        if (_subscribers.TryGetValue(subscriber.UserId, out var set))
        {
            set.TryRemove(subscriber, out _);
            // An emptied set goes only if still empty, so a socket added meanwhile is not lost.
            if (set.IsEmpty)
                _subscribers.TryRemove(new KeyValuePair<long, ConcurrentDictionary<PushSubscriber, byte>>(subscriber.UserId, set));
        }
    }

    /// <summary>Asks the dispatch loop to read the user's new events (and re-check the sessions of their sockets).</summary>
    public void Wake(long userId)
    {
        _dirty.TryAdd(userId, 0);
        _wake.Writer.TryWrite(true);
    }

    public void WriteTo(StringBuilder text)
    {
        text.Append("# HELP mychips_push_sockets Push WebSockets open (slots held) on this instance.\n# TYPE mychips_push_sockets gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"mychips_push_sockets {Sockets}\n");
        text.Append("# HELP mychips_push_sockets_refused_total Push WebSockets refused over a cap (429).\n# TYPE mychips_push_sockets_refused_total counter\n");
        text.Append(CultureInfo.InvariantCulture, $"mychips_push_sockets_refused_total{{cap=\"user\"}} {Interlocked.Read(ref _refusedPerUser)}\n");
        text.Append(CultureInfo.InvariantCulture, $"mychips_push_sockets_refused_total{{cap=\"instance\"}} {Interlocked.Read(ref _refusedTotal)}\n");
        text.Append("# HELP mychips_push_fanout_queries_total Push fan-out round trips (one per batch of woken users).\n# TYPE mychips_push_fanout_queries_total counter\n");
        text.Append(CultureInfo.InvariantCulture, $"mychips_push_fanout_queries_total {FanoutQueries}\n");
        text.Append("# HELP mychips_push_sessions_ended_total Push WebSockets closed because their session ended.\n# TYPE mychips_push_sessions_ended_total counter\n");
        text.Append(CultureInfo.InvariantCulture, $"mychips_push_sessions_ended_total {Interlocked.Read(ref _sessionsEnded)}\n");
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ListenAsync(stoppingToken), DispatchLoopAsync(stoppingToken));

    public override void Dispose()
    {
        _perUser.Dispose();
        _total.Dispose();
        base.Dispose();
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(stoppingToken).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    // Validate before use (PROTOCOL W7): anything but a user id is ignored.
                    if (long.TryParse(e.Payload, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
                        Wake(userId);
                };
                await using (var listen = new NpgsqlCommand("LISTEN mychips_user", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                WakeAll();
                while (!stoppingToken.IsCancellationRequested)
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                _logger.LogWarning("Push listener lost its connection ({Message}); reconnecting", e.Message);
                await DelayAsync(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task DispatchLoopAsync(CancellationToken stoppingToken)
    {
        var nextPass = DateTimeOffset.UtcNow + _passInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = nextPass - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(wait);
                try
                {
                    await _wake.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                    _wake.Reader.TryRead(out _);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                }
            }

            HashSet<long> users;
            if (DateTimeOffset.UtcNow >= nextPass || Interlocked.Exchange(ref _wakeAll, 0) == 1)
            {
                // The periodic pass: every connected user, for lost notifications and sessions ended without one.
                nextPass = DateTimeOffset.UtcNow + _passInterval;
                _dirty.Clear();
                users = [.. _subscribers.Keys];
            }
            else
            {
                users = [];
                foreach (var user in _dirty.Keys)
                {
                    if (_dirty.TryRemove(user, out _))
                        users.Add(user);
                }
            }

            if (users.Count == 0)
                continue;
            try
            {
                await DispatchAsync(users, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // The next pass (or wake-up) tries again; the sockets lose nothing, they are sent from the table.
                _logger.LogWarning("Push fan-out failed ({Message}); trying again", e.Message);
                foreach (var user in users)
                    _dirty.TryAdd(user, 0);
                await DelayAsync(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One round trip for a batch of users: their new events, and which of their sockets' sessions ended.</summary>
    private async Task DispatchAsync(HashSet<long> users, CancellationToken cancellationToken)
    {
        var sockets = new List<PushSubscriber>();
        var ids = new List<long>();
        var after = new List<long>();
        foreach (var user in users)
        {
            if (!_subscribers.TryGetValue(user, out var set) || set.IsEmpty)
                continue;
            // A stalled socket (its queue full) is re-checked but not read for: it would hold its siblings back and
            // make each batch re-read the rows it cannot take. It wakes us when it has room again.
            var from = long.MaxValue;
            foreach (var subscriber in set.Keys)
            {
                sockets.Add(subscriber);
                if (!subscriber.Stalled)
                    from = Math.Min(from, subscriber.Last);
            }

            if (from != long.MaxValue)
            {
                ids.Add(user);
                after.Add(from);
            }
        }

        if (sockets.Count == 0)
            return;

        var rows = new Dictionary<long, List<PushRow>>();
        var ended = new HashSet<string>();
        await using (var batch = _dataSource.CreateBatch())
        {
            var sessions = new NpgsqlBatchCommand(_batchSessionSql);
            sessions.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. sockets.Select(s => s.TokenHash).Distinct(ByteArrayComparer.Instance)] });
            batch.BatchCommands.Add(sessions);
            var events = new NpgsqlBatchCommand(
                """
                SELECT c.user_id, e.event_id, e.events::text
                FROM unnest($1::bigint[], $2::bigint[]) AS c(user_id, after)
                CROSS JOIN LATERAL (
                    SELECT event_id, events FROM mychips.user_events
                    WHERE user_id = c.user_id AND event_id > c.after ORDER BY event_id LIMIT $3) AS e
                ORDER BY c.user_id, e.event_id
                """);
            events.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. ids] });
            events.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. after] });
            events.Parameters.Add(new NpgsqlParameter<int> { TypedValue = RowsPerUser });
            batch.BatchCommands.Add(events);
            Interlocked.Increment(ref _fanoutQueries);
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                ended.Add(Convert.ToBase64String(reader.GetFieldValue<byte[]>(0)));
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var user = reader.GetInt64(0);
                if (!rows.TryGetValue(user, out var list))
                    rows[user] = list = [];
                list.Add(new PushRow(reader.GetInt64(1), reader.GetString(2)));
            }
        }

        // Ended sessions first: a socket whose session ended gets nothing more, even what this batch read.
        foreach (var subscriber in sockets)
        {
            if (ended.Contains(Convert.ToBase64String(subscriber.TokenHash)))
            {
                Remove(subscriber);
                subscriber.Finish(new PushEnd(WebSocketCloseStatus.PolicyViolation, "session ended"));
                Interlocked.Increment(ref _sessionsEnded);
            }
        }

        foreach (var (user, list) in rows)
        {
            if (list.Count == RowsPerUser)
                Wake(user); // more to read: the next batch goes on from here
            if (!_subscribers.TryGetValue(user, out var set))
                continue;
            foreach (var subscriber in set.Keys)
            {
                if (subscriber.Stalled)
                    continue;
                foreach (var row in list)
                {
                    if (row.Id <= subscriber.Last)
                        continue;
                    if (!subscriber.Queue.Writer.TryWrite(row))
                    {
                        // A socket that stopped reading is skipped; it wakes us when it has caught up. If it caught up
                        // in between, whoever clears the mark first wakes us.
                        subscriber.MarkStalled();
                        if (subscriber.Queue.Reader.Count < PushSubscriber.QueueCapacity && subscriber.ClearStalled())
                            Wake(user);
                        break;
                    }

                    subscriber.Last = row.Id;
                }
            }
        }
    }

    private void WakeAll()
    {
        Interlocked.Exchange(ref _wakeAll, 1);
        _wake.Writer.TryWrite(true);
    }

    private void EndAll(PushEnd end)
    {
        foreach (var set in _subscribers.Values)
        {
            foreach (var subscriber in set.Keys)
                subscriber.Finish(end);
        }
    }

    private static async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class Leases(UserPushHub hub, RateLimitLease user, RateLimitLease total) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
                return;
            total.Dispose();
            user.Dispose();
            // After the permits, so that a gauge that dropped means a slot is free.
            Interlocked.Decrement(ref hub._sockets);
        }
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => BitConverter.ToInt32(obj, 0);
    }
}
