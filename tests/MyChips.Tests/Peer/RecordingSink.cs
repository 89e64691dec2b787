using System.Collections.Concurrent;
using MyChips.Peer.Transport;

namespace MyChips.Tests.Peer;

/// <summary>A message sink that records what the transport hands it; tickets are accepted unless told otherwise.</summary>
public sealed class RecordingSink : IPeerMessageSink
{
    private readonly ConcurrentQueue<PeerInboundMessage> _deliveries = new();
    private readonly ConcurrentQueue<PeerTicketRequest> _tickets = new();

    public bool AcceptTickets { get; set; } = true;

    public IReadOnlyCollection<PeerInboundMessage> Deliveries => _deliveries;

    public IReadOnlyCollection<PeerTicketRequest> Tickets => _tickets;

    public ValueTask<bool> AcceptTicketAsync(PeerTicketRequest ticket, CancellationToken cancellationToken)
    {
        _tickets.Enqueue(ticket);
        return ValueTask.FromResult(AcceptTickets);
    }

    public ValueTask<PeerDelivery> DeliverAsync(PeerInboundMessage message, CancellationToken cancellationToken)
    {
        _deliveries.Enqueue(message);
        return ValueTask.FromResult(PeerDelivery.Accepted);
    }

    /// <summary>The <c>seq</c> members of the delivered messages, in delivery order.</summary>
    public List<int> Sequence() => _deliveries.Select(d => (int)d.Message["seq"]!).ToList();
}
