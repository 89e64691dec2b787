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

    /// <summary>An invoice for us to pay: context null or L.void → L.pend.</summary>
    private static async Task<IReadOnlyList<PeerMessage>> PendAsync(DomainTransaction tx, PeerMessage message)
    {
        var (half, incoming) = await ReadAsync(tx, message).ConfigureAwait(false);
        if (half is null || incoming is null || half.Status != "open" || incoming.By != half.Type || incoming.Type != ChitRecord.Tran)
            return None;
        var existing = await tx.FindChitAsync(half, incoming.Uuid).ConfigureAwait(false);
        if (existing is not null && ChitState.Code(existing, half.Type) != "L.void")
            return None;
        var chit = existing ?? incoming;
        chit.Status = "pend";
        chit.Signature = null;
        if (existing is null)
            tx.AddChit(chit);
        else
            chit.Touch();
        half.NetPending += chit.HolderNet(half.Type);
        half.Touch();
        UserEvents.Chit(tx, half, chit);
        return None;
    }

    /// <summary>Our invoice was refused: A.pend → A.void.</summary>
    private static async Task<IReadOnlyList<PeerMessage>> VoidAsync(DomainTransaction tx, PeerMessage message)
    {
        var (half, incoming) = await ReadAsync(tx, message).ConfigureAwait(false);
        if (half is null || incoming is null)
            return None;
        var chit = await tx.FindChitAsync(half, incoming.Uuid).ConfigureAwait(false);
        if (chit is null || ChitState.Code(chit, half.Type) != "A.pend")
            return None;
        chit.Status = "void";
        chit.Signature = null;
        chit.Touch();
        half.NetPending -= chit.HolderNet(half.Type);
        half.Touch();
        UserEvents.Chit(tx, half, chit);
        return None;
    }

    /// <summary>
    /// A signed chit from the partner: context null or A.pend → A.good after the signature check; linked at the end of
    /// our chain; if the partner's block index and hash agree with ours we confirm it (<c>ack</c>).
    /// </summary>
    private async Task<IReadOnlyList<PeerMessage>> GoodAsync(DomainTransaction tx, PeerMessage message)
    {
        var (half, incoming) = await ReadAsync(tx, message).ConfigureAwait(false);
        if (half is null || incoming is null || half.Status != "open" || incoming.By != half.PartnerType)
            return None;
        var existing = await tx.FindChitAsync(half, incoming.Uuid).ConfigureAwait(false);
        if (existing is not null && ChitState.Code(existing, half.Type) != "A.pend")
            return None;
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

    /// <summary>The recipient half (by <c>to.cuid</c>, from the right partner) and the chit as carried in the message.</summary>
    private static async Task<(TallyHalf? Half, ChitRecord? Chit)> ReadAsync(DomainTransaction tx, PeerMessage message)
    {
        var obj = message.Object;
        if (obj is null || !Guid.TryParse((string?)obj["tally"], out var tally) || !Guid.TryParse((string?)obj["uuid"], out var uuid))
            return (null, null);
        var halves = await tx.LockTallyAsync(tally, uuid).ConfigureAwait(false);
        var half = halves.FirstOrDefault(h => h.HoldCuid == message.To.Cuid && h.PartCuid == message.From.Cuid && h.PartAgent == message.From.Agent);
        return half is null ? (null, null) : (half, Parse(obj, half));
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
