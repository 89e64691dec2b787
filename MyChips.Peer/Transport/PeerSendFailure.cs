namespace MyChips.Peer.Transport;

/// <summary>Why the transport refused to take a message at all.</summary>
public enum PeerSendFailure
{
    /// <summary><c>to.agent</c> fails the point checks of PROTOCOL §2.3.</summary>
    InvalidAgentId,

    /// <summary>Larger than one handshake or transport packet can carry.</summary>
    MessageTooLarge,

    /// <summary>Too many messages already wait for this peer.</summary>
    QueueFull,

    /// <summary>No connection to the peer and no host/port to dial.</summary>
    NoAddress,

    /// <summary>The transport is shutting down.</summary>
    Shutdown,

    /// <summary>The peer's host is (or resolves only to) an address the site may not dial (<see cref="PeerAddressPolicy"/>).</summary>
    AddressNotAllowed,
}
