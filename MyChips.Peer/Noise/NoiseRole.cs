namespace MyChips.Peer.Noise;

/// <summary>Which side of the handshake this party plays. The initiator sends the first message.</summary>
public enum NoiseRole
{
    Initiator,
    Responder,
}
