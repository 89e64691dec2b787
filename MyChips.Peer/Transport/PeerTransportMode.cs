namespace MyChips.Peer.Transport;

/// <summary>How packet bodies travel (PROTOCOL §4.5).</summary>
public enum PeerTransportMode
{
    /// <summary>Noise IK / N+KK, ChaChaPoly, BLAKE2b: the default between our nodes.</summary>
    Noise,

    /// <summary>
    /// Plaintext bodies, for reference nodes (which all run raw in production, ref bug T1). No confidentiality and no
    /// authentication; only ever on when the operator enables it.
    /// </summary>
    Raw,
}
