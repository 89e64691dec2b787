namespace MyChips.Peer.Transport;

/// <summary>A message was refused or abandoned before it reached a socket; it was not sent.</summary>
public sealed class PeerSendException : Exception
{
    public PeerSendException(PeerSendFailure failure, string message) : base(message) => Failure = failure;

    public PeerSendFailure Failure { get; }
}
