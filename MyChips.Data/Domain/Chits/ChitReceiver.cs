using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// The receive side of chit messages (PROTOCOL 5.3, 6.5, 7.3): <c>pend</c> (an invoice), <c>void</c> (an invoice
/// refused), <c>good</c> (a signed payment or settings chit, with <c>chain:new</c>) and <c>chain</c>/<c>ack</c>.
/// </summary>
public sealed class ChitReceiver(ChainConsensus chains)
{
    private static readonly IReadOnlyList<PeerMessage> None = [];

    public Task<IReadOnlyList<PeerMessage>> ReceiveAsync(DomainTransaction tx, PeerMessage message) => message.Action switch
    {
        "pend" => PendAsync(tx, message),
        "void" => VoidAsync(tx, message),
        "good" => GoodAsync(tx, message),
        "chain" => ChainAsync(tx, message),
        _ => Task.FromResult(None),
    };

    /// <summary>An invoice for us to pay: context null or L.void → L.pend, within the pending bounds of the tally.</summary>
    private static async Task<IReadOnlyList<PeerMessage>> PendAsync(DomainTransaction tx, PeerMessage message)
    {
        var (half, incoming) = await ReadAsync(tx, message).ConfigureAwait(false);
        if (incoming.By != half.Type || incoming.Type != ChitRecord.Tran || incoming.Units is not > 0)
            throw new DomainException("malformed_message", "An invoice is a tran chit of at least 1 milliCHIP by the side that pays.");
        var existing = await tx.FindChitAsync(half, incoming.Uuid).ConfigureAwait(false);
        var state = existing is null ? null : ChitState.Code(existing, half.Type);
        if (half.Status == "close" && state is null)
            return RefuseOnClosedTally(tx, half, incoming, message);
        if (half.Status != "open" || (state is not null and not "L.void"))
        {
            if (state != "L.pend")
                tx.Ignore($"chit/pend {incoming.Uuid}: our tally is {half.State} and the chit {state ?? "absent"}; an invoice needs an open tally and no chit or L.void");
            return None;
        }

        var chit = existing ?? incoming;
        half.AddPending(chit);
        chit.Status = "pend";
        chit.Signature = null;
        if (existing is null)
            tx.AddChit(chit);
        else
            chit.Touch();
        UserEvents.Chit(tx, half, chit);
        return None;
    }

    // An invoice that crossed our close: the tally takes no new invoices, so it is refused at once (L.void here, A.void
    // at the invoicer), and both halves still agree on every chit.
    private static IReadOnlyList<PeerMessage> RefuseOnClosedTally(DomainTransaction tx, TallyHalf half, ChitRecord chit, PeerMessage message)
    {
        chit.Status = "void";
        chit.Signature = null;
        tx.AddChit(chit);
        UserEvents.Chit(tx, half, chit);
        return [new PeerMessage("chit", "void", message.From, message.To, ChitJson.Wire(chit))];
    }

    /// <summary>Our invoice was refused: A.pend → A.void.</summary>
    private static async Task<IReadOnlyList<PeerMessage>> VoidAsync(DomainTransaction tx, PeerMessage message)
    {
        var (half, incoming) = await ReadAsync(tx, message).ConfigureAwait(false);
        var chit = await tx.FindChitAsync(half, incoming.Uuid).ConfigureAwait(false);
        var state = chit is null ? null : ChitState.Code(chit, half.Type);
        if (chit is null || state != "A.pend")
        {
            if (state != "A.void")
                tx.Ignore($"chit/void {incoming.Uuid}: our chit is {state ?? "absent"}, not A.pend");
            return None;
        }

        half.RemovePending(chit);
        chit.Status = "void";
        chit.Signature = null;
        chit.Touch();
        UserEvents.Chit(tx, half, chit);
        return None;
    }

    /// <summary>
    /// A signed chit from the partner on an open (or just closed) tally: context null, A.pend or A.void (the partner paid an
    /// invoice whose refusal crossed a re-send of it) → A.good after the signature and credit checks; linked at the end of our chain; if the partner's
    /// block index and hash agree with ours we confirm it (<c>ack</c>).
    /// </summary>
    private async Task<IReadOnlyList<PeerMessage>> GoodAsync(DomainTransaction tx, PeerMessage message)
    {
        var (half, incoming) = await ReadAsync(tx, message).ConfigureAwait(false);
        if (incoming.By != half.PartnerType)
            throw new DomainException("malformed_message", "A chit the partner sends as good is issued by the partner's side.");
        var existing = await tx.FindChitAsync(half, incoming.Uuid).ConfigureAwait(false);
        var state = existing is null ? null : ChitState.Code(existing, half.Type);
        // A closed tally still takes the partner's payments already on their way (a close crossing a payment), or the
        // halves would disagree; it takes no new payments of our own user.
        if (half.Status is not ("open" or "close") || (state is not null and not ("A.pend" or "A.void")))
        {
            if (state != "A.good")
                tx.Ignore($"chit/good {incoming.Uuid}: our tally is {half.State} and the chit {state ?? "absent"}; a payment needs an open tally and no chit, A.pend or A.void");
            return None;
        }

        var core = chains.AcceptPartnerChit(tx, half, incoming, existing) ?? throw DomainErrors.BadSignature("chit");
        return await chains.OnPartnerChitAsync(tx, half, existing ?? incoming, core, message.Object?["chain"] as JsonObject, message).ConfigureAwait(false);
    }

    /// <summary>Chain commands (PROTOCOL 6.5): <c>ack</c> raises <c>chain_conf</c>, <c>nak</c> makes the foil send its order, <c>upd</c> makes the stock conform.</summary>
    private async Task<IReadOnlyList<PeerMessage>> ChainAsync(DomainTransaction tx, PeerMessage message)
    {
        var obj = message.Object;
        if (obj is null || !Guid.TryParse((string?)obj["tally"], out var tally))
            return None;
        var half = (await tx.LockTallyAsync(tally).ConfigureAwait(false))
            .FirstOrDefault(h => h.HoldCuid == message.To.Cuid && h.PartCuid == message.From.Cuid && h.PartAgent == message.From.Agent);
        if (half is null || half.Digest is null)
            return None;
        return (string?)obj["cmd"] switch
        {
            "ack" => await chains.AckAsync(tx, half, obj).ConfigureAwait(false),
            "nak" => await chains.NakAsync(tx, half, obj, message).ConfigureAwait(false),
            "upd" => await chains.UpdAsync(tx, half, obj, message).ConfigureAwait(false),
            _ => None,
        };
    }

    /// <summary>The recipient half (by <c>to.cuid</c>, from the partner it names) and the chit as carried in the message.</summary>
    private static async Task<(TallyHalf Half, ChitRecord Chit)> ReadAsync(DomainTransaction tx, PeerMessage message)
    {
        var obj = message.Object;
        if (obj is null || !Guid.TryParse((string?)obj["tally"], out var tally) || !Guid.TryParse((string?)obj["uuid"], out var uuid))
            throw new DomainException("malformed_message", "A chit message names its tally and chit by uuid.");
        var halves = await tx.LockTallyAsync(tally, uuid).ConfigureAwait(false);
        var half = halves.FirstOrDefault(h => h.HoldCuid == message.To.Cuid && h.PartCuid == message.From.Cuid && h.PartAgent == message.From.Agent)
            ?? throw DomainErrors.UnknownRecipient($"tally {tally} of {message.To.Cuid} with partner {message.From.Cuid}@{message.From.Agent}");
        return (half, Parse(obj, half) ?? throw new DomainException("malformed_message", "The chit is malformed (tally, uuid, by, type, date, units, memo)."));
    }

    /// <summary>A chit as carried in a message (<c>chit_json_r</c>/<c>_x</c>) for <paramref name="half"/>; null when malformed.</summary>
    internal static ChitRecord? Parse(JsonObject obj, TallyHalf half)
    {
        if (!Guid.TryParse((string?)obj["tally"], out var tally) || tally != half.Uuid || !Guid.TryParse((string?)obj["uuid"], out var uuid)
            || (string?)obj["by"] is not (TallyHalf.Stock or TallyHalf.Foil) || (string?)obj["type"] is not (ChitRecord.Tran or ChitRecord.Set)
            || !ChipTimestamp.TryParse((string?)obj["date"], out var date))
            return null;
        long? units = obj["units"] is JsonValue v && v.TryGetValue<long>(out var u) ? u : null;
        var type = (string)obj["type"]!;
        if ((type == ChitRecord.Set) != (units is null) || units is < 0 or > ChitAmounts.Max)
            return null;
        if (obj["memo"] is { } memo && !(memo is JsonValue m && m.TryGetValue<string>(out var text) && text.Length <= MemoRule.MaxLength))
            return null;
        return new ChitRecord
        {
            TallyId = half.TallyId,
            TallyUuid = tally,
            Uuid = uuid,
            Type = type,
            By = (string)obj["by"]!,
            Date = date,
            Units = units,
            RefColumn = new JsonColumn(obj["ref"]?.DeepClone()),
            Memo = (string?)obj["memo"],
            Signature = (string?)obj["sign"],
        };
    }
}
