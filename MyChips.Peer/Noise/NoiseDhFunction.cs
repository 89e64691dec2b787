namespace MyChips.Peer.Noise;

/// <summary>The DH function named in a protocol name (Noise spec §12.1).</summary>
public enum NoiseDhFunction
{
    /// <summary><c>25519</c>: X25519, DHLEN 32.</summary>
    Curve25519,

    /// <summary><c>448</c>: X448, DHLEN 56. Parsed so it can be reported, but not implemented.</summary>
    Curve448,
}
