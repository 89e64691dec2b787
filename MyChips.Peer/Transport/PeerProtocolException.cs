namespace MyChips.Peer.Transport;

/// <summary>A peer broke the framing or handshake rules; the connection is closed with <see cref="Reason"/>.</summary>
public sealed class PeerProtocolException : Exception
{
    public PeerProtocolException(PeerCloseReason reason, string message) : base(message) => Reason = reason;

    public PeerProtocolException(PeerCloseReason reason, string message, Exception inner) : base(message, inner) => Reason = reason;

    public PeerCloseReason Reason { get; }
}
