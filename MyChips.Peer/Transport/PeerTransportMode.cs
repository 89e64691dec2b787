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

    /// <summary>
    /// Compatibility mode for a reference node in Noise mode, per peer only (<c>Peer:PeerModes</c>): the same handshakes
    /// as <see cref="Noise"/>, then the reference library's swapped transport keys (PROTOCOL §4.3, ref bug T11: after IK
    /// and KK the initiator sends with c2 and receives with c1). Against the specification, hence warned per connection.
    /// </summary>
    NoiseReference,
}
