using System.Buffers.Binary;
using System.Security.Cryptography;

namespace MyChips.Peer.Noise.Primitives;

/// <summary>
/// AESGCM (Noise spec §12.4): AES-256-GCM, nonce = 4 zero bytes ‖ big-endian counter.
/// Uses the BCL rather than NSec because NSec's Aes256Gcm is unavailable on CPUs without AES-NI.
/// </summary>
internal sealed class AesGcmCipher : NoiseCipher
{
    private readonly AesGcm _aes;

    public AesGcmCipher(ReadOnlySpan<byte> key)
    {
        _aes = new AesGcm(key, TagLength);
    }

    public override void Encrypt(ulong nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        Span<byte> n = stackalloc byte[12];
        WriteNonce(n, nonce);
        int length = plaintext.Length;
        _aes.Encrypt(n, plaintext, ciphertext[..length], ciphertext.Slice(length, TagLength), associatedData);
    }

    public override bool Decrypt(ulong nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        Span<byte> n = stackalloc byte[12];
        WriteNonce(n, nonce);
        int length = ciphertext.Length - TagLength;
        try
        {
            _aes.Decrypt(n, ciphertext[..length], ciphertext[length..], plaintext[..length], associatedData);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    // The BCL releases (and the platform wipes) the native key schedule.
    public override void Dispose() => _aes.Dispose();

    private static void WriteNonce(Span<byte> n, ulong nonce)
    {
        n[..4].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(n[4..], nonce);
    }
}
