namespace MyChips.Peer.Transport;

/// <summary>A write found the connection closed; the message was not sent and may be retried on a new connection.</summary>
public sealed class PeerConnectionClosedException : Exception
{
    public PeerConnectionClosedException(PeerCloseReason reason, string message, Exception? inner = null)
        : base(message, inner) => Reason = reason;

    public PeerCloseReason Reason { get; }
}
