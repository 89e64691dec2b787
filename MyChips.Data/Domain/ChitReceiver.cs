using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// The receive side of chit messages (PROTOCOL 5.3, 6.5, 7.3): <c>pend</c> (an invoice), <c>void</c> (an invoice
/// refused), <c>good</c> (a signed payment or settings chit, with <c>chain:new</c>) and <c>chain</c>/<c>ack</c>.
/// </summary>
public sealed class ChitReceiver(SignatureVerifier verifier)
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
        var core = ChitJson.Core(incoming);
        if (!verifier.Verify(tx, half.PartCert?["public"], ChitJson.SignedBytes(core), incoming.Signature))
            throw DomainErrors.BadSignature("chit");

        var chit = existing ?? incoming;
        var wasPending = existing is not null;
        chit.Signature = incoming.Signature;
        chit.Status = "good";
        chit.Digest = ChitJson.Digest(core);
        if (existing is null)
            tx.AddChit(chit);
        else
            chit.Touch();
        HashChain.Append(half, chit, core);
        var net = chit.HolderNet(half.Type);
        half.Net += net;
        if (!wasPending)
            half.NetPending += net;
        if (chit.Type == ChitRecord.Set)
            ChitSettings.ApplyPartner(half, (JsonObject)chit.Ref!);
        UserEvents.Chit(tx, half, chit);
        if (chit.Type == ChitRecord.Set && half.Status == "close")
            UserEvents.Tally(tx, half);

        var proposed = message.Object?["chain"] as JsonObject;
        var proposedIndex = (int?)proposed?["index"];
        var proposedHash = (string?)proposed?["hash"];
        if (proposedIndex == chit.ChainIdx && proposedHash == Base64Url.Encode(chit.ChainDgst!))
        {
            half.ChainConf = Math.Max(half.ChainConf ?? 0, chit.ChainIdx!.Value);
            return [Ack(message, half, chit.ChainIdx!.Value, chit.ChainDgst!, chit.Uuid)];
        }

        // Chains disagree: reconciliation (upd/nak, PROTOCOL 6.5) comes with peer delivery; locally it cannot happen.
        return None;
    }

    /// <summary>A chain confirmation: raise <c>chain_conf</c> when our hash at that index matches.</summary>
    private static async Task<IReadOnlyList<PeerMessage>> ChainAsync(DomainTransaction tx, PeerMessage message)
    {
        var obj = message.Object;
        if ((string?)obj?["cmd"] != "ack" || !Guid.TryParse((string?)obj["tally"], out var tally) || (int?)obj["index"] is not { } index)
            return None;
        var half = (await tx.LockTallyAsync(tally).ConfigureAwait(false)).FirstOrDefault(h => h.HoldCuid == message.To.Cuid);
        if (half is null || index > half.ChainLast || index < (half.ChainConf ?? -1))
            return None;
        var ours = index == half.ChainLast ? half.ChainHash : index == 0 ? half.Digest : null;
        if (ours is not null && (string?)obj["hash"] == Base64Url.Encode(ours))
        {
            half.ChainConf = index;
            half.Touch();
        }

        return None;
    }

    private static PeerMessage Ack(PeerMessage message, TallyHalf half, int index, byte[] hash, Guid chit) =>
        new("chit", "chain", message.From, message.To, new JsonObject
        {
            ["cmd"] = "ack", ["index"] = index, ["hash"] = Base64Url.Encode(hash), ["tally"] = half.Uuid.ToString(), ["uuid"] = chit.ToString(),
        });

    /// <summary>The recipient half (by <c>to.cuid</c>, from the right partner) and the chit as carried in the message.</summary>
    private static async Task<(TallyHalf? Half, ChitRecord? Chit)> ReadAsync(DomainTransaction tx, PeerMessage message)
    {
        var obj = message.Object;
        if (obj is null || !Guid.TryParse((string?)obj["tally"], out var tally) || !Guid.TryParse((string?)obj["uuid"], out var uuid)
            || (string?)obj["by"] is not (TallyHalf.Stock or TallyHalf.Foil) || (string?)obj["type"] is not (ChitRecord.Tran or ChitRecord.Set)
            || !ChipTimestamp.TryParse((string?)obj["date"], out var date))
            return (null, null);
        var halves = await tx.LockTallyAsync(tally, uuid).ConfigureAwait(false);
        var half = halves.FirstOrDefault(h => h.HoldCuid == message.To.Cuid && h.PartCuid == message.From.Cuid && h.PartAgent == message.From.Agent);
        if (half is null)
            return (null, null);
        long? units = obj["units"] is JsonValue v && v.TryGetValue<long>(out var u) ? u : null;
        var type = (string)obj["type"]!;
        if ((type == ChitRecord.Set) != (units is null) || units is < 0 or > ChitAmounts.Max)
            return (null, null);
        return (half, new ChitRecord
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
        });
    }
}
