namespace MyChips.Peer.Noise;

/// <summary>A token of a handshake message pattern (Noise spec §7.1).</summary>
public enum NoiseToken
{
    E,
    S,
    EE,
    ES,
    SE,
    SS,
    Psk,
}
