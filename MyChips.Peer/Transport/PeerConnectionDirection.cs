namespace MyChips.Peer.Transport;

/// <summary>Who dialled. Either direction carries messages both ways once open (PROTOCOL §4.6).</summary>
public enum PeerConnectionDirection
{
    Inbound,
    Outbound,
}
