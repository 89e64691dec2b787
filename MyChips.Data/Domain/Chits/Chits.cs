using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>
/// A user's chit actions (PROTOCOL 7.3): pay, invoice, approve or refuse an invoice, settings. Each is one
/// transaction that locks both local halves of the tally, checks the state, verifies the issuer's signature, links
/// the chit into the issuer's chain and delivers the message to the partner (locally in the same transaction).
/// </summary>
public sealed class Chits(DomainRunner runner, MessageRouter router, SignatureVerifier verifier, NpgsqlDataSource dataSource)
{
    /// <summary>A direct payment: L.pend.good → L.good on our half, A.good on the partner's.</summary>
    public Task<ChitView> PayAsync(AuthenticatedUser user, Guid tally, Payment payment, CancellationToken cancellationToken)
    {
        ChitAmounts.EnsurePayment(payment.Units);
        MemoRule.Ensure(payment.Memo);
        var date = ParseDate(payment.Date);
        return runner.RunAsync(async tx =>
        {
            var half = await Tallies.OwnAsync(tx, user, tally, payment.Uuid).ConfigureAwait(false);
            var chit = new ChitRecord
            {
                TallyId = half.TallyId, TallyUuid = tally, Uuid = payment.Uuid, Type = ChitRecord.Tran, By = half.Type, Date = date,
                Units = payment.Units, RefColumn = new JsonColumn(payment.Ref?.DeepClone()), Memo = payment.Memo, Signature = payment.Signature,
            };
            var core = ChitJson.Core(chit);
            if (await tx.FindChitAsync(half, payment.Uuid).ConfigureAwait(false) is { } existing)
                return Repeat(half, existing, core);
            EnsureOpen(half, "pay on the tally");
            if (!verifier.Verify(tx, half.HoldCert["public"], ChitJson.SignedBytes(core), payment.Signature))
                throw DomainErrors.BadSignature("payment");
            half.EnsureCredit(chit);
            tx.AddChit(chit);
            await GoodAsync(tx, half, chit, core, wasPending: false).ConfigureAwait(false);
            return ChitView.Of(chit, half.Type);
        }, cancellationToken);
    }

    /// <summary>An invoice: A.draft.pend → A.pend on our half; the payer's half gets L.pend.</summary>
    public Task<ChitView> InvoiceAsync(AuthenticatedUser user, Guid tally, InvoiceRequest invoice, CancellationToken cancellationToken)
    {
        ChitAmounts.EnsurePayment(invoice.Units);
        MemoRule.Ensure(invoice.Memo);
        var date = invoice.Date is null ? ChipTimestamp.Truncate(DateTimeOffset.UtcNow) : ParseDate(invoice.Date);
        return runner.RunAsync(async tx =>
        {
            var half = await Tallies.OwnAsync(tx, user, tally, invoice.Uuid).ConfigureAwait(false);
            var chit = new ChitRecord
            {
                TallyId = half.TallyId, TallyUuid = tally, Uuid = invoice.Uuid, Type = ChitRecord.Tran, By = half.PartnerType, Date = date,
                Units = invoice.Units, RefColumn = new JsonColumn(invoice.Ref?.DeepClone()), Memo = invoice.Memo, Status = "pend",
            };
            if (await tx.FindChitAsync(half, invoice.Uuid).ConfigureAwait(false) is { } existing)
            {
                // A repeated invoice (same uuid): harmless when it is the same one.
                if (existing.By == chit.By && existing.Units == chit.Units && existing.Type == chit.Type)
                    return ChitView.Of(existing, half.Type);
                throw DomainErrors.DuplicateId("chit", invoice.Uuid);
            }

            EnsureOpen(half, "invoice on the tally");
            half.AddPending(chit);
            tx.AddChit(chit);
            UserEvents.Chit(tx, half, chit);
            await router.SendAsync(tx, new PeerMessage("chit", "pend", half.Partner!, half.Holder, ChitJson.Wire(chit))).ConfigureAwait(false);
            return ChitView.Of(chit, half.Type);
        }, cancellationToken);
    }

    /// <summary>Approves (pays) an invoice we received: L.pend → L.good with our signature; the invoicer's chit becomes A.good.</summary>
    public Task<ChitView> ApproveAsync(AuthenticatedUser user, Guid tally, Guid chitId, string signature, CancellationToken cancellationToken) =>
        runner.RunAsync(async tx =>
        {
            var half = await Tallies.OwnAsync(tx, user, tally, chitId).ConfigureAwait(false);
            var chit = await tx.FindChitAsync(half, chitId).ConfigureAwait(false) ?? throw DomainErrors.ChitNotFound(chitId);
            if (chit.Status == "good" && chit.Signature == signature)
                return ChitView.Of(chit, half.Type);
            ChitState.Guard(chit, half.Type, "approve the chit", "L.pend");
            EnsureOpen(half, "approve an invoice on the tally");
            var core = ChitJson.Core(chit);
            if (!verifier.Verify(tx, half.HoldCert["public"], ChitJson.SignedBytes(core), signature))
                throw DomainErrors.BadSignature("payment");
            half.EnsureCredit(chit);
            chit.Signature = signature;
            chit.Touch();
            await GoodAsync(tx, half, chit, core, wasPending: true).ConfigureAwait(false);
            return ChitView.Of(chit, half.Type);
        }, cancellationToken);

    /// <summary>Refuses an invoice: L.pend → L.void; the invoicer's chit becomes A.void.</summary>
    public Task<ChitView> RefuseAsync(AuthenticatedUser user, Guid tally, Guid chitId, CancellationToken cancellationToken) =>
        runner.RunAsync(async tx =>
        {
            var half = await Tallies.OwnAsync(tx, user, tally, chitId).ConfigureAwait(false);
            var chit = await tx.FindChitAsync(half, chitId).ConfigureAwait(false) ?? throw DomainErrors.ChitNotFound(chitId);
            if (ChitState.Code(chit, half.Type) == "L.void")
                return ChitView.Of(chit, half.Type);
            ChitState.Guard(chit, half.Type, "refuse the chit", "L.pend");
            half.RemovePending(chit);
            chit.Status = "void";
            chit.Touch();
            UserEvents.Chit(tx, half, chit);
            await router.SendAsync(tx, new PeerMessage("chit", "void", half.Partner!, half.Holder, ChitJson.Wire(chit))).ConfigureAwait(false);
            return ChitView.Of(chit, half.Type);
        }, cancellationToken);

    /// <summary>A signed settings chit: applied to our half and the partner's on good; <c>close:true</c> closes the tally.</summary>
    public Task<ChitView> SettingsAsync(AuthenticatedUser user, Guid tally, SettingsRequest settings, CancellationToken cancellationToken)
    {
        ChitSettings.Validate(settings.Ref);
        MemoRule.Ensure(settings.Memo);
        var date = ParseDate(settings.Date);
        return runner.RunAsync(async tx =>
        {
            var half = await Tallies.OwnAsync(tx, user, tally, settings.Uuid).ConfigureAwait(false);
            var chit = new ChitRecord
            {
                TallyId = half.TallyId, TallyUuid = tally, Uuid = settings.Uuid, Type = ChitRecord.Set, By = half.Type, Date = date,
                RefColumn = new JsonColumn(settings.Ref.DeepClone()), Memo = settings.Memo, Signature = settings.Signature,
            };
            var core = ChitJson.Core(chit);
            if (await tx.FindChitAsync(half, settings.Uuid).ConfigureAwait(false) is { } existing)
                return Repeat(half, existing, core);
            EnsureOpen(half, "change settings of the tally");
            if (!verifier.Verify(tx, half.HoldCert["public"], ChitJson.SignedBytes(core), settings.Signature))
                throw DomainErrors.BadSignature("settings chit");
            tx.AddChit(chit);
            await GoodAsync(tx, half, chit, core, wasPending: false).ConfigureAwait(false);
            return ChitView.Of(chit, half.Type);
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<ChitView>> ListAsync(AuthenticatedUser user, Guid tally, Guid? chit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT {DomainTransaction.ChitColumns}, t.tally_type FROM mychips.chits c JOIN mychips.tallies t USING (tally_id)
            WHERE t.user_id = $1 AND t.tally_uuid = $2 {(chit is null ? "" : "AND c.chit_uuid = $3")}
            ORDER BY c.chain_idx NULLS LAST, c.chit_id
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = user.UserId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tally });
        if (chit is { } id)
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var views = new List<ChitView>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            views.Add(ChitView.Of(DomainTransaction.ReadChit(reader), reader.GetString(16)));
        return views;
    }

    /// <summary>The chit becomes good on our half: digest, chain link (<c>loc</c>), balance; then <c>good</c> + <c>chain:new</c> goes to the partner.</summary>
    private async Task GoodAsync(DomainTransaction tx, TallyHalf half, ChitRecord chit, JsonObject core, bool wasPending)
    {
        half.Settle(chit, wasPending);
        chit.Status = "good";
        chit.Digest = ChitJson.Digest(core);
        HashChain.Append(half, chit, core);
        if (chit.Type == ChitRecord.Set)
            ChitSettings.ApplyHolder(half, (JsonObject)chit.Ref!);
        UserEvents.Chit(tx, half, chit);
        if (half.Status == "close")
            UserEvents.Tally(tx, half);
        var wire = ChitJson.Wire(chit);
        wire.Remove("hash"); // as the reference sends it: the digest travels in chain.hash's block, not here
        wire["chain"] = new JsonObject
        {
            ["cmd"] = "new", ["index"] = chit.ChainIdx, ["hash"] = Base64Url.Encode(chit.ChainDgst!), ["conf"] = half.ChainConf,
        };
        await router.SendAsync(tx, new PeerMessage("chit", "good", half.Partner!, half.Holder, wire)).ConfigureAwait(false);
    }

    /// <summary>The context guard for a repeated request: the same chit again is answered, a different one with that id refused.</summary>
    private static ChitView Repeat(TallyHalf half, ChitRecord existing, JsonObject core)
    {
        if (!System.Text.Json.Nodes.JsonNode.DeepEquals(ChitJson.Core(existing), core))
            throw DomainErrors.DuplicateId("chit", existing.Uuid);
        return ChitView.Of(existing, half.Type);
    }

    private static void EnsureOpen(TallyHalf half, string action)
    {
        if (half.Status != "open")
            throw DomainErrors.InvalidStateTransition(action, half.State);
    }

    private static DateTimeOffset ParseDate(string? date) =>
        ChipTimestamp.TryParse(date, out var value) ? value
            : throw DomainErrors.InvalidField("date", "must be YYYY-MM-DDTHH:MM:SS.fffZ (UTC, three fraction digits).");
}
