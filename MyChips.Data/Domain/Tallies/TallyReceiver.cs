using System.Text.Json.Nodes;
using Dapper;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// The receive side of tally messages (PROTOCOL 5.2, 7.2): <c>ticket</c>, <c>offer</c>, <c>draft</c>, <c>void</c>,
/// <c>open</c>. Each applies only from its context states; a late or repeated message changes nothing.
/// </summary>
public sealed class TallyReceiver(SignatureVerifier verifier)
{
    private static readonly IReadOnlyList<PeerMessage> None = [];

    public Task<IReadOnlyList<PeerMessage>> ReceiveAsync(DomainTransaction tx, PeerMessage message) => message.Action switch
    {
        "ticket" => TicketAsync(tx, message),
        "offer" => OfferAsync(tx, message),
        "draft" => DraftAsync(tx, message),
        "void" => VoidAsync(tx, message),
        "open" => OpenAsync(tx, message),
        _ => Task.FromResult(None),
    };

    /// <summary>An invitation redeemed: the partner's certificate is attached to our draft (→ <c>P.draft</c>); nothing is sent back.</summary>
    private async Task<IReadOnlyList<PeerMessage>> TicketAsync(DomainTransaction tx, PeerMessage message)
    {
        var token = message.Ticket?["token"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
        var cert = message.Ticket?["cert"] as JsonObject;
        var chad = Chad.FromJson(cert?["chad"]);
        if (token is null || cert is null || chad is null)
            throw DomainErrors.InvalidInvitation();
        var invite = await tx.Connection.QuerySingleOrDefaultAsync<(long TokenId, Guid Tally, bool Reuse)>(new CommandDefinition(
            """
            SELECT t.token_id, t.tally_uuid, t.reuse FROM mychips.tokens t JOIN mychips.users u USING (user_id)
            WHERE t.token_hash = @hash AND t.purpose = 'invite' AND t.used_at IS NULL AND t.expires_at > now()
              AND u.cuid = @cuid AND u.agent = @agent
            FOR UPDATE OF t
            """, new { hash = SecretToken.Hash(token), cuid = message.To.Cuid, agent = tx.Agent.Id }, tx.Transaction,
            cancellationToken: tx.CancellationToken)).ConfigureAwait(false);
        if (invite.TokenId == 0)
            throw DomainErrors.InvalidInvitation();
        var half = (await tx.LockTallyAsync(invite.Tally).ConfigureAwait(false)).FirstOrDefault(h => h.HoldCuid == message.To.Cuid);
        if (half is null || half.State != "draft")
            throw DomainErrors.InvalidInvitation();
        if (chad.SameUser(half.Holder))
            throw new DomainException("own_invitation", "You cannot redeem your own invitation.", 409);

        half.PartCertColumn = new JsonColumn(cert.DeepClone());
        half.PartCuid = chad.Cuid;
        half.PartAgent = chad.Agent;
        half.Touch();
        if (chad.Agent != tx.Agent.Id)
            await EnsureAgentAsync(tx, chad).ConfigureAwait(false);
        if (!invite.Reuse)
        {
            await tx.Connection.ExecuteAsync(new CommandDefinition("UPDATE mychips.tokens SET used_at = now() WHERE token_id = @id",
                new { id = invite.TokenId }, tx.Transaction, cancellationToken: tx.CancellationToken)).ConfigureAwait(false);
        }

        UserEvents.Tally(tx, half);
        return None;
    }

    /// <summary>
    /// An offer (or counter-offer): context null, void, H.offer, P.offer → P.offer, storing every core field as received
    /// (B2). It may touch only the half held by the addressed user, only when it comes from the partner that half names;
    /// a first offer (no half yet) only from an inviter whose invitation that user redeemed. Validated as a local offer.
    /// </summary>
    private async Task<IReadOnlyList<PeerMessage>> OfferAsync(DomainTransaction tx, PeerMessage message)
    {
        var obj = message.Object ?? throw new DomainException("malformed_message", "An offer carries the tally.");
        var uuid = Guid.TryParse((string?)obj["uuid"], out var u) ? u : throw new DomainException("malformed_message", "The tally has no uuid.");
        var halves = await tx.LockTallyAsync(uuid).ConfigureAwait(false);
        var half = halves.FirstOrDefault(h => h.HoldCuid == message.To.Cuid);
        // Between two users of this site the offerer's own half exists already; any other half means the uuid is taken.
        if (half is null && halves.Any(h => !(message.From.Agent == tx.Agent.Id && h.HoldCuid == message.From.Cuid
                && h.PartCuid == message.To.Cuid && h.PartAgent == tx.Agent.Id)))
            throw DomainErrors.UnknownRecipient($"tally {uuid} is not held by {message.To.Cuid}");
        if (half is not null && (half.PartAgent != message.From.Agent || half.PartCuid != message.From.Cuid))
            throw DomainErrors.UnknownRecipient($"tally {uuid} of {message.To.Cuid} names {half.PartCuid}@{half.PartAgent} as partner, not {message.From.Cuid}@{message.From.Agent}");
        long? newUser = null;
        if (half is null)
            newUser = await ExpectedFirstOfferAsync(tx, message, uuid).ConfigureAwait(false);

        var side = SideOf(obj, message.To) ?? throw new DomainException("malformed_message", "Neither certificate of the tally names the recipient.");
        if (half is not null && side != half.Type)
            throw new DomainException("peer_message_refused", $"The offer puts {message.To.Cuid} on the {side} side of tally {uuid}, which they hold as {half.Type}.", 409);
        var partnerSide = side == TallyHalf.Stock ? TallyHalf.Foil : TallyHalf.Stock;
        var partnerChad = Chad.FromJson(obj[partnerSide]?["cert"]?["chad"])
            ?? throw new DomainException("malformed_message", "The partner's certificate of the tally has no chad.");
        // The offering partner is the sender, or any agent could present an offer in another user's name.
        if (!partnerChad.SameUser(message.From))
            throw new DomainException("peer_message_refused", $"the offer's partner {partnerChad.Cuid}@{partnerChad.Agent} is not the sender {message.From.Cuid}@{message.From.Agent}", 400);
        var core = CoreOf(obj);
        ValidateOffer(core, side, partnerSide);

        if (half is not null && half.State is not ("void" or "H.offer" or "P.offer"))
        {
            tx.Ignore($"tally/offer for {uuid}: our half is {half.State}, which takes no offer");
            return None;
        }

        var sign = obj["sign"] as JsonObject;
        var partnerSig = (string?)sign?[partnerSide];
        if (half is { State: "void" } && partnerSig == half.PartSig)
        {
            // The offer our user refused, sent again (a reference node re-sends without ids): it does not revive the tally.
            tx.Ignore($"tally/offer for {uuid}: a repeat of the offer refused (our half is void)");
            return None;
        }

        if (!verifier.Verify(tx, obj[partnerSide]?["cert"]?["public"], TallyJson.SignedBytes(core), partnerSig))
            throw DomainErrors.BadSignature("tally offer");

        // Our user's certificate is ours to give: the partner may not replace it.
        var ourCert = half?.HoldCert ?? await CurrentCertAsync(tx, newUser!.Value).ConfigureAwait(false);
        if (!JsonNode.DeepEquals(core[side]?["cert"], ourCert))
            throw new DomainException("peer_message_refused", $"The offer for tally {uuid} does not carry {message.To.Cuid}'s current certificate.", 409);

        if (half is null)
        {
            if (partnerChad.Agent != tx.Agent.Id)
                await EnsureAgentAsync(tx, partnerChad).ConfigureAwait(false);
            half = new TallyHalf { UserId = newUser!.Value, HoldCuid = message.To.Cuid, Uuid = uuid, Type = side, IsNew = true };
            Apply(half, core, side, partnerSig, partnerChad);
            await tx.AddTallyAsync(half).ConfigureAwait(false);
            OutboxWithdrawal.TicketAnswered(tx, partnerChad, message.To.Cuid);
        }
        else
        {
            Apply(half, core, side, partnerSig, partnerChad);
            half.Touch();
        }

        UserEvents.Tally(tx, half);
        return None;
    }

    /// <summary>
    /// A first offer is expected only from an inviter whose invitation the addressed user redeemed (and has not had an
    /// offer for yet): the redemption is used up. Returns the user; anything else is refused the same way as an unknown
    /// user, so a stranger cannot probe for users.
    /// </summary>
    private static async Task<long> ExpectedFirstOfferAsync(DomainTransaction tx, PeerMessage message, Guid uuid)
    {
        var match = await tx.Connection.QuerySingleOrDefaultAsync<(long UserId, long RedemptionId)>(new CommandDefinition(
            """
            SELECT u.user_id, r.redemption_id FROM mychips.users u JOIN mychips.redemptions r USING (user_id)
            WHERE u.cuid = @cuid AND u.agent = @agent AND r.inviter_agent = @fromAgent AND r.inviter_cuid = @fromCuid
              AND r.used_at IS NULL AND r.expires_at > now()
            ORDER BY r.redemption_id LIMIT 1 FOR UPDATE OF r
            """, new { cuid = message.To.Cuid, agent = tx.Agent.Id, fromAgent = message.From.Agent, fromCuid = message.From.Cuid },
            tx.Transaction, cancellationToken: tx.CancellationToken)).ConfigureAwait(false);
        if (match.UserId == 0)
            throw DomainErrors.UnknownRecipient($"first offer of tally {uuid} to {message.To.Cuid} from {message.From.Cuid}@{message.From.Agent}, who has no redeemed invitation of theirs");
        await tx.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE mychips.redemptions SET used_at = now(), tally_uuid = @uuid WHERE redemption_id = @id",
            new { id = match.RedemptionId, uuid }, tx.Transaction, cancellationToken: tx.CancellationToken)).ConfigureAwait(false);
        return match.UserId;
    }

    private static async Task<JsonNode?> CurrentCertAsync(DomainTransaction tx, long userId)
    {
        var text = await tx.Connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT cert::text FROM mychips.users WHERE user_id = @userId", new { userId }, tx.Transaction,
            cancellationToken: tx.CancellationToken)).ConfigureAwait(false);
        return text is null ? null : JsonNode.Parse(text);
    }

    // The limits a local offer meets (memo, terms), plus bounds on what only a peer can send (certificates, contract).
    private static void ValidateOffer(JsonObject core, string side, string partnerSide)
    {
        if (core["memo"] is { } memo && !(memo is JsonValue m && m.TryGetValue<string>(out _)))
            throw DomainErrors.InvalidField("memo", "must be text or null.");
        MemoRule.Ensure((string?)core["memo"]);
        foreach (var s in new[] { side, partnerSide })
        {
            var terms = core[s]?["terms"];
            if (terms is not null and not JsonObject)
                throw DomainErrors.InvalidField($"{s}.terms", "must be an object.");
            TallyTerms.Validate(terms as JsonObject, $"{s}.terms");
            if (core[s]?["cert"] is not JsonObject cert || cert.ToJsonString().Length > MaxCertBytes)
                throw DomainErrors.InvalidField($"{s}.cert", $"must be an object of at most {MaxCertBytes} bytes of JSON.");
        }

        if (core["agree"] is { } agree && agree.ToJsonString().Length > MaxAgreeBytes)
            throw DomainErrors.InvalidField("agree", $"must be at most {MaxAgreeBytes} bytes of JSON.");
    }

    private const int MaxCertBytes = 8192;

    private const int MaxAgreeBytes = 1024;

    /// <summary>The partner is revising our offer: we stay in H.offer and are told; our offer has its answer.</summary>
    private static async Task<IReadOnlyList<PeerMessage>> DraftAsync(DomainTransaction tx, PeerMessage message)
    {
        var half = await OurHalfAsync(tx, message).ConfigureAwait(false);
        if (half.State == "H.offer")
        {
            OutboxWithdrawal.Answered(tx, half, "tally", "offer");
            tx.Emit(half.UserId, new JsonObject { ["type"] = "tally", ["tally"] = half.Uuid.ToString(), ["state"] = half.State, ["action"] = false, ["revising"] = true });
        }
        else
        {
            tx.Ignore($"tally/draft for {half.Uuid}: our half is {half.State}, not H.offer");
        }

        return None;
    }

    /// <summary>The partner refused our offer: H.offer → void.</summary>
    private static async Task<IReadOnlyList<PeerMessage>> VoidAsync(DomainTransaction tx, PeerMessage message)
    {
        var half = await OurHalfAsync(tx, message).ConfigureAwait(false);
        if (half.State == "H.offer")
        {
            half.Status = "void";
            half.Touch();
            UserEvents.Tally(tx, half);
        }
        else if (half.State != "void")
        {
            tx.Ignore($"tally/void for {half.Uuid}: our half is {half.State}, not H.offer");
        }

        return None;
    }

    /// <summary>
    /// The partner accepted: H.offer → open with both signatures checked over our text; we answer chain ack 0. Also from
    /// void when our signed offer is still what the partner accepted: its refusal crossed a re-sent offer and its user
    /// accepted that (a reference node re-sends without ids); the tally both signed is in force on its side, so it is here.
    /// </summary>
    private async Task<IReadOnlyList<PeerMessage>> OpenAsync(DomainTransaction tx, PeerMessage message)
    {
        var half = await OurHalfAsync(tx, message).ConfigureAwait(false);
        if (half.State is not ("H.offer" or "void") || half.HoldSig is null)
        {
            if (half.State != "open")
                tx.Ignore($"tally/open for {half.Uuid}: our half is {half.State}, which cannot open");
            return None;
        }

        var partnerSig = (string?)(message.Object?["sign"] as JsonObject)?[half.PartnerType];
        var json = TallyJson.Build(half);
        var bytes = TallyJson.SignedBytes(json);
        if (!verifier.Verify(tx, half.PartCert?["public"], bytes, partnerSig) || !verifier.Verify(tx, half.HoldCert["public"], bytes, half.HoldSig))
            throw DomainErrors.BadSignature("accepted tally");
        await EnsureTallyRoomAsync(tx, half).ConfigureAwait(false);
        half.PartSig = partnerSig;
        Open(half, json);
        half.ChainConf = 0;
        UserEvents.Tally(tx, half);
        return
        [
            new PeerMessage("chit", "chain", message.From, message.To, new JsonObject
            {
                ["cmd"] = "ack", ["tally"] = half.Uuid.ToString(), ["index"] = 0, ["hash"] = Base64Url.Encode(half.Digest!),
            }),
        ];
    }

    /// <summary>A user may hold at most <see cref="LedgerBounds.MaxBalanceTallies"/> tallies that carry a balance.</summary>
    internal static async Task EnsureTallyRoomAsync(DomainTransaction tx, TallyHalf half)
    {
        var held = await tx.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT balance_tallies FROM mychips.users WHERE user_id = @userId", new { userId = half.UserId }, tx.Transaction,
            cancellationToken: tx.CancellationToken)).ConfigureAwait(false);
        if (held >= LedgerBounds.MaxBalanceTallies)
            throw DomainErrors.TallyLimitReached();
    }

    /// <summary>offer → open: the digest (chain block 0) is stored and the terms become the settings of each side.</summary>
    internal static void Open(TallyHalf half, JsonObject tallyJson)
    {
        half.Status = "open";
        half.Request = null;
        half.Digest = TallyJson.Digest(tallyJson);
        half.ChainLast = 0;
        half.ChainHash = half.Digest;
        half.HoldSetsColumn = new JsonColumn(Merge(half.HoldSets, half.HoldTerms));
        half.PartSetsColumn = new JsonColumn(Merge(half.PartSets, half.PartTerms));
        half.Touch();
    }

    internal static JsonObject Merge(JsonObject into, JsonObject from)
    {
        var result = (JsonObject)into.DeepClone();
        foreach (var (key, value) in from)
            result[key] = value?.DeepClone();
        return result;
    }

    // The addressed user's half, when the sender is the partner it names; anything else is refused as unknown.
    private static async Task<TallyHalf> OurHalfAsync(DomainTransaction tx, PeerMessage message)
    {
        if (!Guid.TryParse((string?)message.Object?["uuid"], out var uuid))
            throw new DomainException("malformed_message", "The tally has no uuid.");
        var halves = await tx.LockTallyAsync(uuid).ConfigureAwait(false);
        return halves.FirstOrDefault(h => h.HoldCuid == message.To.Cuid && h.PartCuid == message.From.Cuid && h.PartAgent == message.From.Agent)
            ?? throw DomainErrors.UnknownRecipient($"tally {uuid} of {message.To.Cuid} with partner {message.From.Cuid}@{message.From.Agent}");
    }

    private static void Apply(TallyHalf half, JsonObject core, string side, string? partnerSig, Chad partner)
    {
        var partnerSide = side == TallyHalf.Stock ? TallyHalf.Foil : TallyHalf.Stock;
        half.Version = (int?)core["version"] ?? 1;
        half.Revision = (int?)core["revision"] ?? 1;
        half.Date = ChipTimestamp.TryParse((string?)core["date"], out var date) ? date : throw new DomainException("malformed_message", "The tally date is not in the chip form.");
        half.Memo = (string?)core["memo"];
        half.AgreeColumn = new JsonColumn(core["agree"]?.DeepClone());
        half.HoldCertColumn = new JsonColumn(core[side]?["cert"]?.DeepClone());
        half.PartCertColumn = new JsonColumn(core[partnerSide]?["cert"]?.DeepClone());
        half.HoldTermsColumn = new JsonColumn(core[side]?["terms"]?.DeepClone() ?? new JsonObject());
        half.PartTermsColumn = new JsonColumn(core[partnerSide]?["terms"]?.DeepClone() ?? new JsonObject());
        half.PartCuid = partner.Cuid;
        half.PartAgent = partner.Agent;
        half.PartSig = partnerSig;
        half.HoldSig = null;
        half.Status = "offer";
        half.Request = null;
    }

    private static string? SideOf(JsonObject tally, Chad to)
    {
        foreach (var side in new[] { TallyHalf.Stock, TallyHalf.Foil })
        {
            if (Chad.FromJson(tally[side]?["cert"]?["chad"]) is { } chad && chad.SameUser(to))
                return side;
        }

        return null;
    }

    private static JsonObject CoreOf(JsonObject wire)
    {
        var core = (JsonObject)wire.DeepClone();
        core.Remove("sign");
        return core;
    }

    private static Task EnsureAgentAsync(DomainTransaction tx, Chad chad) =>
        tx.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO mychips.agents (agent, host, port) VALUES (@Agent, @Host, @Port) ON CONFLICT DO NOTHING",
            chad, tx.Transaction, cancellationToken: tx.CancellationToken));
}
