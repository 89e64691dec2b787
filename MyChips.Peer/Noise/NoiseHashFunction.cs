namespace MyChips.Peer.Noise;

/// <summary>The hash function named in a protocol name (Noise spec §12.5 to §12.8).</summary>
public enum NoiseHashFunction
{
    Sha256,
    Sha512,
    Blake2s,
    Blake2b,
}
