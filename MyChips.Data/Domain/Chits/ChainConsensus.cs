using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// Chain consensus between the two halves of a tally (PROTOCOL 6.5): the foil orders, the stock conforms. The foil's
/// chain only ever grows at its end, so a stock that matches the foil at index <c>i</c> matches it for good up to
/// <c>i</c>; the stock re-links only above its <c>chain_conf</c>, to the order an <c>upd</c> from the foil gives.
/// Between two users of one site every exchange runs in one transaction, so the chains always agree at once (ack).
/// </summary>
public sealed class ChainConsensus(SignatureVerifier verifier)
{
    private static readonly IReadOnlyList<PeerMessage> None = [];

    // Chits per upd: one message must fit a Noise transport packet (64 KiB); a longer order goes in parts (more:true).
    private const int UpdLimit = 64;

    /// <summary>
    /// A partner's chit just became good on <paramref name="half"/> (<c>new</c>): link it at our next index; confirm
    /// when the partner's proposed block equals ours, else the foil sends its order (<c>upd</c>) and the stock asks for
    /// it (<c>nak</c>).
    /// </summary>
    internal async Task<IReadOnlyList<PeerMessage>> OnPartnerChitAsync(DomainTransaction tx, TallyHalf half, ChitRecord chit, JsonObject core, JsonObject? proposal, PeerMessage message)
    {
        HashChain.Append(half, chit, core);
        var proposedIndex = (int?)proposal?["index"];
        var proposedHash = (string?)proposal?["hash"];
        if (proposedIndex == chit.ChainIdx && proposedHash == Base64Url.Encode(chit.ChainDgst!))
        {
            ConfirmedByPartner(tx, half, chit.ChainIdx!.Value);
            half.ChainConf = Math.Max(half.ChainConf ?? 0, chit.ChainIdx!.Value);
            return [Command(message, half, "ack", chit.ChainIdx!.Value, chit.ChainDgst!, chit.Uuid)];
        }

        var conf = half.ChainConf ?? 0;
        if (half.Type == TallyHalf.Foil)
        {
            var partnerConf = (int?)proposal?["conf"] ?? conf;
            return [await UpdateAsync(tx, half, Math.Min(conf, Math.Max(partnerConf, 0)) + 1, message, chit.Uuid).ConfigureAwait(false)];
        }

        return [Nak(message, half, chit.Uuid)];
    }

    /// <summary><c>ack(i, h)</c>: the partner's block <c>i</c> is <c>h</c>; when ours is too, raise <c>chain_conf</c> (never lower it).</summary>
    internal async Task<IReadOnlyList<PeerMessage>> AckAsync(DomainTransaction tx, TallyHalf half, JsonObject command)
    {
        if ((int?)command["index"] is not { } index || (string?)command["hash"] is not { } hash || index <= (half.ChainConf ?? -1))
            return None;
        var ours = await tx.ChainHashAtAsync(half, index).ConfigureAwait(false);
        if (ours is not null && hash == Base64Url.Encode(ours))
        {
            ConfirmedByPartner(tx, half, index);
            half.ChainConf = index;
            half.Touch();
        }

        return None;
    }

    // The partner holds our chain up to `index`: what we sent it up to there has arrived (for a peer without receipts,
    // this is the only evidence): the tally's `open` (index 0) and the chits' `good` messages are settled.
    // Called before chain_conf is raised: the `open` can be outstanding only while nothing was confirmed yet.
    private static void ConfirmedByPartner(DomainTransaction tx, TallyHalf half, int index)
    {
        if (half.ChainConf is null)
            OutboxWithdrawal.Answered(tx, half, "tally", "open");
        if (index > (half.ChainConf ?? 0))
            OutboxWithdrawal.ChainConfirmed(tx, half, index);
    }

    /// <summary><c>nak</c> at the foil: the stock could not follow; send our order from the stock's confirmed index on.</summary>
    internal async Task<IReadOnlyList<PeerMessage>> NakAsync(DomainTransaction tx, TallyHalf half, JsonObject command, PeerMessage message)
    {
        if (half.Type != TallyHalf.Foil)
            return None; // the stock conforms; a foil never asks it to reorder
        var stockConf = (int?)command["index"] ?? 0;
        var from = Math.Min(half.ChainConf ?? 0, Math.Max(stockConf, 0)) + 1;
        return Echo(command, [await UpdateAsync(tx, half, from, message, Guid.TryParse((string?)command["uuid"], out var u) ? u : null).ConfigureAwait(false)]);
    }

    /// <summary>
    /// <c>upd</c> at the stock: re-link our chain above <c>chain_conf</c> to the foil's order, inserting partner chits we
    /// have not received yet (signature checked); our chits the foil does not list yet (their <c>good</c> is still on the
    /// way) go after, in their order. Confirm when our hash at the last listed index equals the foil's, else <c>nak</c>.
    /// </summary>
    internal async Task<IReadOnlyList<PeerMessage>> UpdAsync(DomainTransaction tx, TallyHalf half, JsonObject command, PeerMessage message) =>
        Echo(command, half.Type == TallyHalf.Foil
            ? await TakeStraysAsync(tx, half, command, message).ConfigureAwait(false)
            : await ConformAsync(tx, half, command, message).ConfigureAwait(false));

    /// <summary>
    /// <c>upd</c> at the foil: the stock lists chits of its chain the foil has not confirmed (PROTOCOL 6.5: "stock → foil
    /// for strays", e.g. a payment whose <c>good</c> was given up). The foil takes the partner's chits it lacks (signature
    /// and credit checked, as any payment), appends them to its chain (the foil orders), and answers with its order.
    /// </summary>
    private async Task<IReadOnlyList<PeerMessage>> TakeStraysAsync(DomainTransaction tx, TallyHalf half, JsonObject command, PeerMessage message)
    {
        if (half.Status is not ("open" or "close") || command["chits"] is not JsonArray list || list.Count == 0 || list.Count > UpdLimit)
            return None;
        foreach (var node in list)
        {
            var incoming = node is JsonObject entry ? ChitReceiver.Parse(entry, half) : null;
            if (incoming is null)
                throw new DomainException("malformed_message", "An upd entry is not a chit of this tally.");
            var existing = await tx.FindChitAsync(half, incoming.Uuid).ConfigureAwait(false);
            if (existing is { Status: "good" })
                continue;
            if (incoming.By != half.PartnerType || (existing is not null && ChitState.Code(existing, half.Type) is not ("A.pend" or "A.void")))
                throw new DomainException("malformed_message", $"The stock lists chit {incoming.Uuid}, which is not its own or cannot become good here.");
            var core = AcceptPartnerChit(tx, half, incoming, existing) ?? throw DomainErrors.BadSignature("chit");
            HashChain.Append(half, existing ?? incoming, core);
        }

        Guid? about = Guid.TryParse((string?)command["uuid"], out var u) ? u : null;
        return [await UpdateAsync(tx, half, (half.ChainConf ?? 0) + 1, message, about).ConfigureAwait(false)];
    }

    private async Task<IReadOnlyList<PeerMessage>> ConformAsync(DomainTransaction tx, TallyHalf half, JsonObject command, PeerMessage message)
    {
        if (half.Status is not ("open" or "close") || command["chits"] is not JsonArray list || list.Count == 0)
            return None;
        var conf = half.ChainConf ?? 0;
        // Our answers name the chit the foil's upd was about, so answers to different events are different messages.
        Guid? about = Guid.TryParse((string?)command["uuid"], out var u) ? u : null;
        var entries = new List<(int Index, string Hash, JsonObject Chit)>();
        foreach (var node in list)
        {
            if (node is not JsonObject chit || chit["chain"] is not JsonObject chain || (int?)chain["index"] is not { } at
                || (string?)chain["hash"] is not { } hash)
                throw new DomainException("malformed_message", "An upd entry lacks chain.index or chain.hash.");
            if (entries.Count > 0 && at != entries[^1].Index + 1)
                throw new DomainException("malformed_message", "The upd entries are not consecutive.");
            entries.Add((at, hash, chit));
        }

        var start = Math.Max(entries[0].Index, conf + 1);
        var last = entries[^1].Index;
        if (last < start)
        {
            // Only blocks we confirmed already (the foil missed our ack): confirm the last one again if it is ours too.
            var ours = await tx.ChainHashAtAsync(half, last).ConfigureAwait(false);
            return ours is not null && Base64Url.Encode(ours) == entries[^1].Hash
                ? [Command(message, half, "ack", last, ours, about)]
                : [Nak(message, half, about)];
        }
        if (start - 1 > half.ChainLast)
            return [Nak(message, half, about)]; // a gap before the foil's list: ask again from our confirmed index

        var prior = await tx.ChainHashAtAsync(half, start - 1).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"No block {start - 1} on tally {half.Uuid}.");
        var tail = await tx.UnlinkFromAsync(half, start).ConfigureAwait(false);
        var index = start - 1;
        var placed = new HashSet<Guid>();
        foreach (var entry in entries.Where(e => e.Index >= start))
        {
            var chit = await ResolveAsync(tx, half, entry.Chit).ConfigureAwait(false);
            if (chit is null || !placed.Add(chit.Uuid))
                return [Nak(message, half, about)];
            prior = Link(chit, ++index, prior);
        }

        var confirmed = Base64Url.Encode(prior) == entries[^1].Hash;
        var (lastListed, listedHash) = (index, prior);
        foreach (var chit in tail.Where(c => !placed.Contains(c.Uuid)))
            prior = Link(chit, ++index, prior);
        half.ChainLast = index;
        half.ChainHash = prior;
        half.Touch();
        if (!confirmed)
            return [Nak(message, half, about)];
        ConfirmedByPartner(tx, half, lastListed);
        half.ChainConf = Math.Max(conf, lastListed);
        var ack = Command(message, half, "ack", lastListed, listedHash, null);
        // A partial order: confirm this part and ask for the rest from here.
        if (command["more"] is JsonValue more && more.TryGetValue<bool>(out var m) && m)
            return [ack, Nak(message, half, about)];
        // Our chits the foil did not list follow its order here; send them, so the foil takes any it never received.
        return index > lastListed ? [ack, await UpdateAsync(tx, half, lastListed + 1, message, about).ConfigureAwait(false)] : [ack];
    }

    /// <summary>
    /// A chain left unconfirmed with no traffic to carry it forward (a reply lost for good, or an exchange that ended in a
    /// repeated message): the foil sends its order again, the stock asks for it. Each carries <c>sync</c> (the time),
    /// which the reference ignores, so it is a new message rather than a repeat of an earlier one.
    /// </summary>
    internal async Task<IReadOnlyList<PeerMessage>> ResyncAsync(DomainTransaction tx, TallyHalf half)
    {
        if (half.Status is not ("open" or "close") || half.Partner is not { } partner || half.Digest is null || half.ChainConf == half.ChainLast)
            return None;
        // Built as answers to the partner, so they go to the partner. Either side lists its chain above the confirmed
        // index: the foil's is the order; the stock's carries chits the foil may never have received (a given-up good),
        // which the foil takes and answers with its order.
        var context = new PeerMessage("chit", "chain", half.Holder, partner, null);
        var message = await UpdateAsync(tx, half, (half.ChainConf ?? 0) + 1, context, null).ConfigureAwait(false);
        message.Object!["sync"] = ChipTimestamp.ToText(ChipTimestamp.Truncate(DateTimeOffset.UtcNow));
        return [message];
    }

    /// <summary>
    /// Makes a partner's chit good on our half: signature, credit limit (the terms we granted bind the partner's payments as
    /// they bind our own), digest, balance, settings; the caller links it. Null when the signature does not verify.
    /// </summary>
    internal JsonObject? AcceptPartnerChit(DomainTransaction tx, TallyHalf half, ChitRecord incoming, ChitRecord? existing)
    {
        if (incoming.Type == ChitRecord.Set)
            ChitSettings.ValidateReceived(incoming.Ref);
        var core = ChitJson.Core(incoming);
        if (!verifier.Verify(tx, half.PartCert?["public"], ChitJson.SignedBytes(core), incoming.Signature))
            return null;
        half.EnsureCredit(incoming);
        var chit = existing ?? incoming;
        var wasPending = existing?.Status == "pend";
        half.Settle(chit, wasPending);
        chit.Signature = incoming.Signature;
        chit.Status = "good";
        chit.Digest = ChitJson.Digest(core);
        if (existing is null)
            tx.AddChit(chit);
        else
            chit.Touch();
        if (chit.Type == ChitRecord.Set)
            ChitSettings.ApplyPartner(half, (JsonObject)chit.Ref!);
        UserEvents.Chit(tx, half, chit);
        if (chit.Type == ChitRecord.Set && half.Status == "close")
            UserEvents.Tally(tx, half);
        return core;
    }

    // An upd entry as one of our good chits: ours must already be good here; the partner's is accepted now if new.
    private async Task<ChitRecord?> ResolveAsync(DomainTransaction tx, TallyHalf half, JsonObject entry)
    {
        var incoming = ChitReceiver.Parse(entry, half);
        if (incoming is null)
            return null;
        var existing = await tx.FindChitAsync(half, incoming.Uuid).ConfigureAwait(false);
        if (existing is { Status: "good" })
            return JsonNode.DeepEquals(ChitJson.Core(existing), ChitJson.Core(incoming)) ? existing : null;
        if (incoming.By != half.PartnerType || (existing is not null && ChitState.Code(existing, half.Type) is not ("A.pend" or "A.void")))
            return null;
        return AcceptPartnerChit(tx, half, incoming, existing) is null ? null : existing ?? incoming;
    }

    // Answers to a resync carry its time, so an answer equal to an earlier one is still a new message (the outbox keys
    // messages by content and would drop the repeat).
    private static IReadOnlyList<PeerMessage> Echo(JsonObject command, IReadOnlyList<PeerMessage> replies)
    {
        if (command["sync"] is JsonValue sync)
        {
            foreach (var reply in replies)
                reply.Object!["sync"] = sync.DeepClone();
        }

        return replies;
    }

    private static byte[] Link(ChitRecord chit, int index, byte[] prior)
    {
        var hash = ChitJson.Digest(ChitJson.Hashed(ChitJson.Core(chit), index, prior, chit.Signature));
        chit.ChainIdx = index;
        chit.ChainPrev = prior;
        chit.ChainDgst = hash;
        chit.Touch();
        return hash;
    }

    // The foil's order from index `from` to its end, each chit as chit_json_x; an ack of our head when nothing is listed.
    private static async Task<PeerMessage> UpdateAsync(DomainTransaction tx, TallyHalf half, int from, PeerMessage message, Guid? about)
    {
        var first = Math.Max(from, 1);
        var more = half.ChainLast - first + 1 > UpdLimit;
        var chits = await tx.LinkedChitsAsync(half, first, more ? first + UpdLimit - 1 : half.ChainLast).ConfigureAwait(false);
        if (chits.Count == 0)
            return Command(message, half, "ack", half.ChainLast, half.ChainHash!, about);
        var list = new JsonArray();
        foreach (var chit in chits)
        {
            var x = ChitJson.Wire(chit);
            x["chain"] = new JsonObject { ["index"] = chit.ChainIdx, ["hash"] = Base64Url.Encode(chit.ChainDgst!), ["conf"] = half.ChainConf };
            list.Add(x);
        }

        var obj = new JsonObject { ["cmd"] = "upd", ["tally"] = half.Uuid.ToString(), ["chits"] = list };
        if (more)
            obj["more"] = true;
        if (about is { } uuid)
            obj["uuid"] = uuid.ToString();
        return new PeerMessage("chit", "chain", message.From, message.To, obj);
    }

    private static PeerMessage Nak(PeerMessage message, TallyHalf half, Guid? about)
    {
        var obj = new JsonObject { ["cmd"] = "nak", ["tally"] = half.Uuid.ToString(), ["index"] = half.ChainConf ?? 0 };
        if (about is { } uuid)
            obj["uuid"] = uuid.ToString();
        return new PeerMessage("chit", "chain", message.From, message.To, obj);
    }

    internal static PeerMessage Command(PeerMessage message, TallyHalf half, string cmd, int index, byte[] hash, Guid? about)
    {
        var obj = new JsonObject { ["cmd"] = cmd, ["index"] = index, ["hash"] = Base64Url.Encode(hash), ["tally"] = half.Uuid.ToString() };
        if (about is { } uuid)
            obj["uuid"] = uuid.ToString();
        return new PeerMessage("chit", "chain", message.From, message.To, obj);
    }
}
