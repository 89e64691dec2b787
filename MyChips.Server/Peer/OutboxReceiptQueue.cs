using System.Threading.Channels;
using MyChips.Data.Domain;

namespace MyChips.Server.Peer;

/// <summary>
/// Receipts from peers on their way to <c>mychips.outbox</c>: the receive loop only queues them, and the sender applies
/// them in batches, so a connection's receive loop never waits on an outbox write.
/// </summary>
public sealed class OutboxReceiptQueue
{
    private readonly Channel<OutboxReceipt> _queue = Channel.CreateUnbounded<OutboxReceipt>(new UnboundedChannelOptions { SingleReader = true });

    public void Add(OutboxReceipt receipt) => _queue.Writer.TryWrite(receipt);

    /// <summary>Waits for at least one receipt, then takes up to <paramref name="max"/>.</summary>
    public async Task<List<OutboxReceipt>> TakeAsync(int max, CancellationToken cancellationToken)
    {
        await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        var batch = new List<OutboxReceipt>();
        while (batch.Count < max && _queue.Reader.TryRead(out var receipt))
            batch.Add(receipt);
        return batch;
    }
}
