namespace MyChips.Peer.Transport;

/// <summary>The sink's verdict on one message; the transport only logs it (there is no wire acknowledgement).</summary>
public enum PeerDelivery
{
    Accepted,

    /// <summary>Valid but not for us (unknown action or object); PROTOCOL says ignore.</summary>
    Ignored,

    /// <summary>Refused by a domain rule (bad signature, unknown tally, wrong partner).</summary>
    Rejected,
}
