using System.Net.WebSockets;
using System.Threading.Channels;

namespace MyChips.Server.Api;

/// <summary>One row of <c>mychips.user_events</c> on its way to a socket: the id and the event array as JSON text.</summary>
internal sealed record PushRow(long Id, string Events);

/// <summary>Why the hub ended a socket: the close status and reason the client sees.</summary>
internal sealed record PushEnd(WebSocketCloseStatus Status, string Reason);

/// <summary>
/// One open push socket as the hub sees it: whose it is, the session it was opened with (by hash, to re-check it),
/// how far it has been sent, and a small queue the socket's own loop drains. The queue is bounded so a client that
/// stops reading costs a few rows of memory, not the hub's progress: when it is full the hub skips the socket and
/// comes back once the socket has caught up (<see cref="Stalled"/>).
/// </summary>
internal sealed class PushSubscriber(long userId, byte[] tokenHash, long last)
{
    public const int QueueCapacity = 64;

    // Not disposed: it has no timer and nothing links to it but the socket's own (disposed) linked source, and the
    // hub may still end a socket that has just gone away.
    private readonly CancellationTokenSource _ended = new();
    private int _stalled;
    private PushEnd? _end;

    public long UserId { get; } = userId;

    public byte[] TokenHash { get; } = tokenHash;

    /// <summary>The last event id queued for this socket; written by the hub's dispatch loop only.</summary>
    public long Last { get; set; } = last;

    public Channel<PushRow> Queue { get; } = Channel.CreateBounded<PushRow>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Cancelled when the hub ends the socket (session ended, server stopping).</summary>
    public CancellationToken Ended => _ended.Token;

    public PushEnd? End => Volatile.Read(ref _end);

    public bool Stalled => Volatile.Read(ref _stalled) == 1;

    public void MarkStalled() => Volatile.Write(ref _stalled, 1);

    /// <summary>True once after the hub marked the socket stalled: the socket then asks the hub to come back.</summary>
    public bool ClearStalled() => Interlocked.Exchange(ref _stalled, 0) == 1;

    public void Finish(PushEnd end)
    {
        if (Interlocked.CompareExchange(ref _end, end, null) is null)
            _ended.Cancel();
    }
}
