namespace MyChips.Peer.Noise;

/// <summary>The cipher function named in a protocol name (Noise spec §12.3, §12.4).</summary>
public enum NoiseCipherFunction
{
    /// <summary><c>ChaChaPoly</c>: IETF ChaCha20-Poly1305, nonce = 4 zero bytes ‖ 64-bit little-endian counter.</summary>
    ChaChaPoly,

    /// <summary><c>AESGCM</c>: AES-256-GCM, nonce = 4 zero bytes ‖ 64-bit big-endian counter.</summary>
    AesGcm,
}
