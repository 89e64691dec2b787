namespace MyChips.Peer.Transport;

/// <summary>
/// Why a peer connection ended or a packet was refused. Stable codes: logs and tests match on the names.
/// </summary>
public enum PeerCloseReason
{
    /// <summary>Still open.</summary>
    None,

    /// <summary>The remote side closed the socket at a frame boundary.</summary>
    PeerClosed,

    /// <summary>We closed it: shutdown, replaced, or disposed.</summary>
    LocalClose,

    /// <summary>No packet in either direction for the idle timeout.</summary>
    IdleTimeout,

    /// <summary>The handshake did not complete within the connect timeout.</summary>
    HandshakeTimeout,

    /// <summary>A frame length of zero: not even a header byte.</summary>
    EmptyFrame,

    /// <summary>A frame longer than the cap (or than Noise allows).</summary>
    OversizeFrame,

    /// <summary>The socket ended in the middle of a frame.</summary>
    TruncatedFrame,

    /// <summary>A header byte that is not I, N, K, A or T.</summary>
    UnknownHeader,

    /// <summary>A known header in the wrong state (e.g. T before A, N after A).</summary>
    UnexpectedPacket,

    /// <summary>A Noise handshake message did not authenticate or was malformed.</summary>
    HandshakeFailed,

    /// <summary>A transport message did not authenticate.</summary>
    DecryptFailed,

    /// <summary>An agent ID that is not a valid Ed25519 point (PROTOCOL §2.3).</summary>
    InvalidAgentId,

    /// <summary>IK: the handshake's static key is not the conversion of <c>from.agent</c> (PROTOCOL §4.2, ref bug T3).</summary>
    IdentityMismatch,

    /// <summary>The sink refused the first-contact ticket; no <c>A</c> is sent (ref bug T2).</summary>
    TicketRefused,

    /// <summary>A payload that is not a JSON object, or lacks <c>from.agent</c>.</summary>
    MalformedMessage,

    /// <summary><c>from.agent</c> differs from the authenticated peer (envelope rule 2, ref bug T4).</summary>
    SpoofedSender,

    /// <summary>A raw-mode packet from a peer for which raw mode is not enabled.</summary>
    RawModeNotAllowed,

    /// <summary>A socket or I/O error.</summary>
    NetworkError,
}
