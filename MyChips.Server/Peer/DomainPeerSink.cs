using System.Text.Json.Nodes;
using MyChips.Data;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Server.Upgrade;

namespace MyChips.Server.Peer;

/// <summary>
/// Where the peer transport hands authenticated messages: each passes the hold gate (held while the schema is being
/// upgraded; past the hold timeout it is not applied and the peer's sender tries again), is applied by
/// <see cref="PeerInbox"/> in one transaction, and is answered with a delivery receipt once committed.
/// </summary>
internal sealed class DomainPeerSink(
    HoldGate gate,
    PeerInbox inbox,
    OutboxReceiptQueue receipts,
    SitePeerTransport transport,
    PeerRefusals refusals,
    OfferRateLimiter offers,
    ILogger<DomainPeerSink> logger) : IPeerMessageSink
{
    public async ValueTask<bool> AcceptTicketAsync(PeerTicketRequest ticket, CancellationToken cancellationToken)
    {
        var held = await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!held.Admitted)
        {
            logger.LogWarning("Ticket from {Peer} not answered: {Reason}", ticket.PeerAgent, held.Reason);
            return false;
        }

        if (!offers.Admit("handshake:" + ticket.PeerAgent, "ticket"))
        {
            refusals.Record(ticket.PeerAgent, "ticket", "rate_limited: too many tally offers and tickets from this agent; not answered");
            return false;
        }

        if (await inbox.TicketAcceptableAsync(ticket.PeerAgent, ticket.Message, cancellationToken).ConfigureAwait(false))
            return true;
        refusals.Record(ticket.PeerAgent, "ticket", "the invitation token is unknown, used or expired");
        return false;
    }

    public async ValueTask<PeerDelivery> DeliverAsync(PeerInboundMessage message, CancellationToken cancellationToken)
    {
        var json = message.Message;
        var what = $"{Text(json, "target")}/{Text(json, "action")}";
        var held = await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!held.Admitted)
        {
            logger.LogWarning("Message {What} from {Peer} not applied: {Reason}; the peer sends it again", what, message.PeerAgent, held.Reason);
            return PeerDelivery.Ignored;
        }

        if (Text(json, "target") == DeliveryReceipt.Target)
            return Receipt(message.PeerAgent, json);

        if (Text(json, "target") == "tally" && !offers.Admit(message.PeerAgent, Text(json, "action")))
        {
            // No receipt: the sender tries again later, when the bucket has refilled.
            refusals.Record(message.PeerAgent, what, "rate_limited: too many tally offers and tickets from this agent; not applied, no receipt");
            return PeerDelivery.Ignored;
        }

        PeerInboxResult result;
        try
        {
            result = await inbox.ReceiveAsync(message.PeerAgent, json, cancellationToken).ConfigureAwait(false);
        }
        catch (FencedException e)
        {
            logger.LogWarning("Message {What} from {Peer} not applied: {Reason}; the peer sends it again", what, message.PeerAgent, e.Message);
            return PeerDelivery.Ignored;
        }

        var id = Text(json, PeerInbox.IdMember);
        if (result.Outcome == PeerInboxOutcome.Rejected)
            refusals.Record(message.PeerAgent, what, result.Detail is null ? result.Reason! : $"{result.Reason} ({result.Detail})");
        else if (result.Outcome == PeerInboxOutcome.Duplicate)
            logger.LogInformation("Message {What} {Id} from {Peer} was applied before; ignored", what, id, message.PeerAgent);
        foreach (var note in result.Notes ?? [])
            logger.LogWarning("Message {What} {Id} from {Peer} left nothing to do: {Note}", what, id, message.PeerAgent, note);
        if (id is not null)
            SendReceipt(message.PeerAgent, DeliveryReceipt.Create(json, id, result.Reason));
        return result.Outcome switch
        {
            PeerInboxOutcome.Applied => PeerDelivery.Accepted,
            PeerInboxOutcome.Duplicate => PeerDelivery.Ignored,
            _ => PeerDelivery.Rejected,
        };
    }

    private PeerDelivery Receipt(string peer, JsonObject json)
    {
        if (Text(json, "id") is not { } id)
            return PeerDelivery.Ignored;
        receipts.Add(new OutboxReceipt(peer, id, Text(json, "action") == "nak" ? Text(json, "reason") ?? "no reason given" : null));
        return PeerDelivery.Accepted;
    }

    private void SendReceipt(string peer, JsonObject receipt)
    {
        if (transport.Current is not { } manager)
            return;
        try
        {
            manager.SendAsync(receipt, CancellationToken.None).ContinueWith(
                (t, state) => ((ILogger)state!).LogInformation("Receipt to {Peer} not sent: {Message}", peer, t.Exception?.GetBaseException().Message),
                logger, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        catch (Exception e) when (e is PeerSendException or System.Text.Json.JsonException)
        {
            // JsonException: the receipt echoes members of the received message that cannot be written (\ud800).
            logger.LogInformation("Receipt to {Peer} not sent: {Message}", peer, e.Message);
        }
    }

    private static string? Text(JsonObject json, string name)
    {
        try
        {
            return json[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        }
        catch (InvalidOperationException)
        {
            return null; // a lone surrogate escape (\ud800): not text; the inbox refuses the message
        }
    }
}
