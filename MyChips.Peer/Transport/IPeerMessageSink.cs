namespace MyChips.Peer.Transport;

/// <summary>
/// Where the transport hands authenticated inbound messages: the domain implements it (tally, chit and lift
/// dispatch). Calls for one connection are sequential, in arrival order (envelope rule 4). The transport has already
/// enforced envelope rule 2 (<c>from.agent</c> is the authenticated peer) and that the message is a JSON object.
/// </summary>
public interface IPeerMessageSink
{
    /// <summary>
    /// First contact by ticket (IK): decides, before the transport answers <c>A</c>, whether this ticket is one we
    /// issued and is still valid (ref bug T2). False closes the connection with nothing written. When true, the ticket
    /// message is then delivered through <see cref="DeliverAsync"/>.
    /// </summary>
    ValueTask<bool> AcceptTicketAsync(PeerTicketRequest ticket, CancellationToken cancellationToken);

    /// <summary>Processes one inbound message. Exceptions are logged and the connection keeps serving.</summary>
    ValueTask<PeerDelivery> DeliverAsync(PeerInboundMessage message, CancellationToken cancellationToken);
}
