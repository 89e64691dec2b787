using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>
/// A user's actions on tallies (PROTOCOL 7.2): draft, invite, redeem, offer, accept, refuse, revise. Each is one
/// transaction; each checks the state it starts from (context guard); repeating an action that already took effect
/// returns the current tally and changes nothing.
/// </summary>
public sealed class Tallies(DomainRunner runner, MessageRouter router, SignatureVerifier verifier, NpgsqlDataSource dataSource, IOptions<DomainOptions> options, IPeerProfiles peers)
{
    public Task<TallyView> CreateAsync(AuthenticatedUser user, TallyDraft draft, CancellationToken cancellationToken)
    {
        if (draft.Type is not (TallyHalf.Stock or TallyHalf.Foil))
            throw DomainErrors.InvalidField("type", "must be \"stock\" or \"foil\".");
        MemoRule.Ensure(draft.Memo);
        var holdTerms = TallyTerms.Validate(draft.HoldTerms, "holdTerms");
        var partTerms = TallyTerms.Validate(draft.PartTerms, "partTerms");
        return runner.RunAsync(async tx =>
        {
            var account = await Users.ReadAsync(tx.Connection, tx.Transaction, "user_id = @id", new { id = user.UserId }, tx.CancellationToken).ConfigureAwait(false);
            var cert = account?.Cert ?? throw new DomainException("no_certificate", "Register a key (ticket login) before drafting tallies.", 409);
            var uuid = draft.Uuid ?? Guid.NewGuid();
            if ((await tx.LockTallyAsync(uuid).ConfigureAwait(false)).Count > 0)
                throw DomainErrors.DuplicateId("tally", uuid);
            var half = new TallyHalf
            {
                UserId = user.UserId,
                HoldCuid = user.Cuid,
                Uuid = uuid,
                Type = draft.Type,
                Date = Crypto.ChipTimestamp.Truncate(DateTimeOffset.UtcNow),
                Memo = draft.Memo,
                AgreeColumn = new JsonColumn(JsonNode.Parse(options.Value.Agreement)),
                HoldCertColumn = new JsonColumn(cert),
                HoldTermsColumn = new JsonColumn(holdTerms.DeepClone()),
                PartTermsColumn = new JsonColumn(partTerms.DeepClone()),
                IsNew = true,
            };
            await tx.AddTallyAsync(half).ConfigureAwait(false);
            UserEvents.Tally(tx, half);
            return TallyView.Of(half);
        }, cancellationToken);
    }

    public Task<TallyView> UpdateAsync(AuthenticatedUser user, Guid tally, TallyEdit edit, CancellationToken cancellationToken)
    {
        MemoRule.Ensure(edit.Memo);
        var holdTerms = edit.HoldTerms is null ? null : TallyTerms.Validate(edit.HoldTerms, "holdTerms");
        var partTerms = edit.PartTerms is null ? null : TallyTerms.Validate(edit.PartTerms, "partTerms");
        return runner.RunAsync(async tx =>
        {
            var half = await OwnAsync(tx, user, tally).ConfigureAwait(false);
            TallyState.Guard(half, "edit the tally", "draft", "P.draft");
            if (edit.Memo is not null) half.Memo = edit.Memo;
            if (holdTerms is not null) half.HoldTermsColumn = new JsonColumn(holdTerms.DeepClone());
            if (partTerms is not null) half.PartTermsColumn = new JsonColumn(partTerms.DeepClone());
            half.Touch();
            return TallyView.Of(half);
        }, cancellationToken);
    }

    /// <summary>Issues a one-time invitation to a draft that has no partner yet.</summary>
    public async Task<Invitation> InviteAsync(AuthenticatedUser user, Guid tally, TimeSpan? lifetime, CancellationToken cancellationToken)
    {
        var life = lifetime ?? options.Value.InvitationLifetime;
        if (life <= TimeSpan.Zero || life > TimeSpan.FromDays(30))
            throw DomainErrors.InvalidField("expires", "must be between 1 minute and 30 days.");
        var token = SecretToken.Create();
        var (expires, chad) = await runner.RunAsync(async tx =>
        {
            var half = await OwnAsync(tx, user, tally).ConfigureAwait(false);
            TallyState.Guard(half, "invite to the tally", "draft");
            var expires = await tx.Connection.ExecuteScalarAsync<DateTime>(new CommandDefinition(
                """
                INSERT INTO mychips.tokens (user_id, purpose, token_hash, tally_uuid, expires_at) VALUES (@userId, 'invite', @hash, @tally, now() + @life)
                RETURNING expires_at
                """, new { userId = user.UserId, hash = SecretToken.Hash(token), tally, life }, tx.Transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return (new DateTimeOffset(DateTime.SpecifyKind(expires, DateTimeKind.Utc)), half.Holder);
        }, cancellationToken).ConfigureAwait(false);
        var url = $"{options.Value.PublicUrl.TrimEnd('/')}/invite?token={token}&chad={Uri.EscapeDataString(chad.ToJson().ToJsonString())}";
        return new Invitation(token, expires, chad, tally, url);
    }

    /// <summary>
    /// Redeems an invitation: sends <c>ticket</c> with our certificate to the inviter's agent (PROTOCOL 5.2). Delivered
    /// at once when the inviter is on this site (an unknown or used token is then refused here); otherwise queued.
    /// </summary>
    /// <param name="expires">The invitation's own expiry when the app passes it (the reference's invitations carry
    /// one): a past one is refused here at once; the inviter's site still checks its own record either way.</param>
    /// <returns>True when the inviter is local and the invitation was accepted.</returns>
    public Task<bool> RedeemAsync(AuthenticatedUser user, string token, Chad inviter, DateTimeOffset? expires, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 200)
            throw DomainErrors.InvalidInvitation();
        inviter.EnsureValid("chad");
        if (expires is { } expiry && expiry <= DateTimeOffset.UtcNow)
            throw DomainErrors.InvitationExpired(expiry);
        return runner.RunAsync(async tx =>
        {
            var account = await Users.ReadAsync(tx.Connection, tx.Transaction, "user_id = @id", new { id = user.UserId }, tx.CancellationToken).ConfigureAwait(false);
            var cert = account?.Cert ?? throw new DomainException("no_certificate", "Register a key (ticket login) before redeeming invitations.", 409);
            var from = Chad.FromJson(cert["chad"])!;
            // The inviter's first offer is expected only through a redemption (docs/peer-rules.md).
            await tx.Connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO mychips.redemptions (user_id, inviter_cuid, inviter_agent, expires_at) VALUES (@userId, @cuid, @agent, now() + @life)",
                new { userId = user.UserId, cuid = inviter.Cuid, agent = inviter.Agent, life = options.Value.RedemptionLifetime },
                tx.Transaction, cancellationToken: tx.CancellationToken)).ConfigureAwait(false);
            await router.SendAsync(tx, new PeerMessage("tally", "ticket", inviter, from, null,
                new JsonObject { ["token"] = token, ["cert"] = cert.DeepClone() })).ConfigureAwait(false);
            return inviter.Agent == tx.Agent.Id;
        }, cancellationToken);
    }

    /// <summary>Signs and offers (P.draft or void → H.offer); the partner's half becomes P.offer.</summary>
    public Task<TallyView> OfferAsync(AuthenticatedUser user, Guid tally, string signature, CancellationToken cancellationToken) =>
        runner.RunAsync(async tx =>
        {
            var half = await OwnAsync(tx, user, tally).ConfigureAwait(false);
            var json = TallyJson.Build(half);
            var bytes = TallyJson.SignedBytes(json);
            if (half.State == "H.offer" && verifier.Verify(tx, half.HoldCert["public"], bytes, signature))
                return TallyView.Of(half);
            TallyState.Guard(half, "offer the tally", "P.draft", "void");
            if (half.PartCert is null)
                throw DomainErrors.InvalidStateTransition("offer a tally without a partner", half.State);
            EnsurePartnerCanVerify(tx, half);
            if (!verifier.Verify(tx, half.HoldCert["public"], bytes, signature))
                throw DomainErrors.BadSignature("tally");
            half.HoldSig = signature;
            half.PartSig = null;
            half.Status = "offer";
            half.Touch();
            UserEvents.Tally(tx, half);
            await router.SendAsync(tx, new PeerMessage("tally", "offer", half.Partner!, half.Holder, TallyJson.WithSign(half))).ConfigureAwait(false);
            return TallyView.Of(half);
        }, cancellationToken);

    /// <summary>Signs and accepts (P.offer → open, both signatures checked); the offerer's half opens too.</summary>
    public Task<TallyView> AcceptAsync(AuthenticatedUser user, Guid tally, string signature, CancellationToken cancellationToken) =>
        runner.RunAsync(async tx =>
        {
            var half = await OwnAsync(tx, user, tally).ConfigureAwait(false);
            if (half.Status == "open" && half.HoldSig == signature)
                return TallyView.Of(half);
            TallyState.Guard(half, "accept the tally", "P.offer");
            EnsurePartnerCanVerify(tx, half);
            var json = TallyJson.Build(half);
            var bytes = TallyJson.SignedBytes(json);
            if (!verifier.Verify(tx, half.HoldCert["public"], bytes, signature))
                throw DomainErrors.BadSignature("tally");
            if (!verifier.Verify(tx, half.PartCert?["public"], bytes, half.PartSig))
                throw DomainErrors.BadSignature("partner's tally");
            await TallyReceiver.EnsureTallyRoomAsync(tx, half).ConfigureAwait(false);
            half.HoldSig = signature;
            TallyReceiver.Open(half, json);
            UserEvents.Tally(tx, half);
            await router.SendAsync(tx, new PeerMessage("tally", "open", half.Partner!, half.Holder, TallyJson.WithSign(half))).ConfigureAwait(false);
            return TallyView.Of(half);
        }, cancellationToken);

    /// <summary>Refuses an offer (P.offer → void); the offerer's half becomes void.</summary>
    public Task<TallyView> RefuseAsync(AuthenticatedUser user, Guid tally, CancellationToken cancellationToken) =>
        runner.RunAsync(async tx =>
        {
            var half = await OwnAsync(tx, user, tally).ConfigureAwait(false);
            if (half.State == "void")
                return TallyView.Of(half);
            TallyState.Guard(half, "refuse the tally", "P.offer");
            half.Status = "void";
            half.Touch();
            UserEvents.Tally(tx, half);
            await router.SendAsync(tx, new PeerMessage("tally", "void", half.Partner!, half.Holder, TallyJson.WithSign(half))).ConfigureAwait(false);
            return TallyView.Of(half);
        }, cancellationToken);

    /// <summary>Starts a counter-offer (P.offer → P.draft, revision + 1, signatures cleared); edit, then offer again.</summary>
    public Task<TallyView> ReviseAsync(AuthenticatedUser user, Guid tally, CancellationToken cancellationToken) =>
        runner.RunAsync(async tx =>
        {
            var half = await OwnAsync(tx, user, tally).ConfigureAwait(false);
            TallyState.Guard(half, "revise the tally", "P.offer");
            half.Status = "draft";
            half.Revision++;
            half.HoldSig = null;
            half.PartSig = null;
            half.Touch();
            UserEvents.Tally(tx, half);
            await router.SendAsync(tx, new PeerMessage("tally", "draft", half.Partner!, half.Holder, TallyJson.Build(half))).ConfigureAwait(false);
            return TallyView.Of(half);
        }, cancellationToken);

    public async Task<TallyView> GetAsync(AuthenticatedUser user, Guid tally, CancellationToken cancellationToken) =>
        (await ReadAsync(user, "t.tally_uuid = $2", tally, cancellationToken).ConfigureAwait(false)).FirstOrDefault() ?? throw DomainErrors.TallyNotFound(tally);

    public Task<IReadOnlyList<TallyView>> ListAsync(AuthenticatedUser user, CancellationToken cancellationToken) =>
        ReadAsync(user, null, null, cancellationToken);

    /// <summary>The user's balance: the sum of the nets of their tallies, with each tally's share.</summary>
    public async Task<Balance> BalanceAsync(AuthenticatedUser user, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT tally_uuid, status, net, net_pending FROM mychips.tallies WHERE user_id = $1 AND status IN ('open', 'close') ORDER BY tally_id");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = user.UserId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var tallies = new List<TallyBalance>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            tallies.Add(new TallyBalance(reader.GetGuid(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        // At most LedgerBounds.MaxBalanceTallies tallies of at most ±(2^53−1) each: the sums fit a long.
        return new Balance(tallies.Sum(t => t.Net), tallies.Sum(t => t.NetPending), tallies);
    }

    private async Task<IReadOnlyList<TallyView>> ReadAsync(AuthenticatedUser user, string? where, Guid? tally, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {DomainTransaction.TallyColumns} FROM mychips.tallies t JOIN mychips.users u USING (user_id) WHERE t.user_id = $1 {(where is null ? "" : "AND " + where)} ORDER BY t.tally_id");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = user.UserId });
        if (tally is { } id)
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var views = new List<TallyView>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            views.Add(TallyView.Of(DomainTransaction.ReadTally(reader)));
        return views;
    }

    /// <summary>
    /// A reference partner verifies our user's signature only as P-521/SHA-384 (PROTOCOL 3.1): with any other key the
    /// tally could never open there, so it is refused before anything is signed away or sent. Our own agent's users
    /// (loopback) are never reference peers.
    /// </summary>
    private void EnsurePartnerCanVerify(DomainTransaction tx, TallyHalf half)
    {
        if (half.PartAgent is not { } agent || agent == tx.Agent.Id || !peers.IsReferencePeer(agent))
            return;
        var curve = (half.HoldCert["public"] as JsonObject)?["crv"] is JsonValue crv && crv.TryGetValue<string>(out var name) ? name : null;
        if (!Crypto.UserKeyCurveInfo.TryFromJwkName(curve, out var parsed) || parsed != Crypto.UserKeyCurve.P521)
            throw DomainErrors.KeyNotSupportedByPartner(curve ?? "unknown");
    }

    /// <summary>The caller's own half of a tally, locked; any other user's tally is "not found".</summary>
    internal static async Task<TallyHalf> OwnAsync(DomainTransaction tx, AuthenticatedUser user, Guid tally, Guid? chit = null) =>
        (await tx.LockTallyAsync(tally, chit).ConfigureAwait(false)).FirstOrDefault(h => h.UserId == user.UserId)
        ?? throw DomainErrors.TallyNotFound(tally);
}
