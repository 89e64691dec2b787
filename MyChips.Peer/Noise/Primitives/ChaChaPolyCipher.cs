using System.Buffers.Binary;
using NSec.Cryptography;

namespace MyChips.Peer.Noise.Primitives;

/// <summary>ChaChaPoly (Noise spec §12.3) on NSec: IETF ChaCha20-Poly1305, nonce = 4 zero bytes ‖ little-endian counter.</summary>
internal sealed class ChaChaPolyCipher : NoiseCipher
{
    private static readonly AeadAlgorithm Algorithm = AeadAlgorithm.ChaCha20Poly1305;

    // NSec keeps the key in libsodium's guarded memory and wipes it on Dispose.
    private readonly Key _key;

    public ChaChaPolyCipher(ReadOnlySpan<byte> key)
    {
        _key = Key.Import(Algorithm, key, KeyBlobFormat.RawSymmetricKey);
    }

    public override void Encrypt(ulong nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        Span<byte> n = stackalloc byte[12];
        WriteNonce(n, nonce);
        Algorithm.Encrypt(_key, n, associatedData, plaintext, ciphertext[..(plaintext.Length + TagLength)]);
    }

    public override bool Decrypt(ulong nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        Span<byte> n = stackalloc byte[12];
        WriteNonce(n, nonce);
        return Algorithm.Decrypt(_key, n, associatedData, ciphertext, plaintext[..(ciphertext.Length - TagLength)]);
    }

    public override void Dispose() => _key.Dispose();

    private static void WriteNonce(Span<byte> n, ulong nonce)
    {
        n[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(n[4..], nonce);
    }
}
