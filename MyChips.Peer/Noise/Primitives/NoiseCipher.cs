namespace MyChips.Peer.Noise.Primitives;

/// <summary>
/// An AEAD keyed once (Noise's ENCRYPT/DECRYPT with a fixed k). Ciphertext is always plaintext ‖ 16-byte tag.
/// Implementations build the 12-byte nonce from the 64-bit counter on the stack, so nothing allocates per message.
/// </summary>
internal abstract class NoiseCipher : IDisposable
{
    public const int KeyLength = 32;
    public const int TagLength = 16;

    public abstract void Encrypt(ulong nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext);

    /// <summary>Returns false when authentication fails; <paramref name="plaintext"/> is then unspecified.</summary>
    public abstract bool Decrypt(ulong nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext);

    public abstract void Dispose();

    public static NoiseCipher Create(NoiseCipherFunction function, ReadOnlySpan<byte> key) => function switch
    {
        NoiseCipherFunction.ChaChaPoly => new ChaChaPolyCipher(key),
        NoiseCipherFunction.AesGcm => new AesGcmCipher(key),
        _ => throw new ArgumentOutOfRangeException(nameof(function), function, null),
    };
}
