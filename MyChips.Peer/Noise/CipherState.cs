using System.Security.Cryptography;
using MyChips.Peer.Noise.Primitives;

namespace MyChips.Peer.Noise;

/// <summary>
/// Noise CipherState (§5.1): a key k (possibly empty) and a 64-bit nonce n.
/// Encrypts and decrypts into caller buffers; no allocation per message. Not thread-safe.
/// </summary>
public sealed class CipherState : IDisposable
{
    /// <summary>Authentication tag appended to every ciphertext once a key is set.</summary>
    public const int TagLength = NoiseCipher.TagLength;

    /// <summary>Key length of every Noise cipher.</summary>
    public const int KeyLength = NoiseCipher.KeyLength;

    // 2^64-1 is reserved for rekey (§5.1), so it is never used for a message.
    private const ulong MaxNonce = ulong.MaxValue;

    private readonly NoiseCipherFunction _function;
    private NoiseCipher? _cipher;
    private bool _disposed;

    public CipherState(NoiseCipherFunction function)
    {
        _function = function;
    }

    public NoiseCipherFunction Function => _function;

    public bool HasKey => _cipher is not null;

    /// <summary>The nonce the next message will use.</summary>
    public ulong Nonce { get; private set; }

    /// <summary>Sets k (32 bytes) and resets n to zero.</summary>
    public void InitializeKey(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"A Noise cipher key is {KeyLength} bytes.", nameof(key));
        }

        var cipher = NoiseCipher.Create(_function, key);
        _cipher?.Dispose();
        _cipher = cipher;
        Nonce = 0;
    }

    /// <summary>Sets n, for protocols that carry explicit nonces (§5.1). Never reuse a nonce with one key.</summary>
    public void SetNonce(ulong nonce)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Nonce = nonce;
    }

    /// <summary>Length of the ciphertext for a plaintext of <paramref name="plaintextLength"/> bytes.</summary>
    public int GetCiphertextLength(int plaintextLength) => HasKey ? plaintextLength + TagLength : plaintextLength;

    /// <summary>
    /// ENCRYPT(k, n++, ad, plaintext) into <paramref name="ciphertext"/>, or a plain copy while k is empty.
    /// Returns the number of bytes written. <paramref name="ciphertext"/> may start at the same address as the plaintext.
    /// </summary>
    public int EncryptWithAd(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int length = GetCiphertextLength(plaintext.Length);
        if (ciphertext.Length < length)
        {
            throw new ArgumentException($"The ciphertext buffer needs {length} bytes.", nameof(ciphertext));
        }

        if (_cipher is null)
        {
            plaintext.CopyTo(ciphertext);
            return length;
        }

        ThrowIfExhausted();
        _cipher.Encrypt(Nonce, associatedData, plaintext, ciphertext[..length]);
        Nonce++;
        return length;
    }

    /// <summary>
    /// DECRYPT(k, n++, ad, ciphertext) into <paramref name="plaintext"/>, or a plain copy while k is empty.
    /// On authentication failure throws <see cref="NoiseException"/> and leaves n unchanged (§5.1).
    /// </summary>
    public int DecryptWithAd(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_cipher is null)
        {
            if (plaintext.Length < ciphertext.Length)
            {
                throw new ArgumentException($"The plaintext buffer needs {ciphertext.Length} bytes.", nameof(plaintext));
            }

            ciphertext.CopyTo(plaintext);
            return ciphertext.Length;
        }

        if (ciphertext.Length < TagLength)
        {
            throw new NoiseException("The ciphertext is shorter than the authentication tag.");
        }

        int length = ciphertext.Length - TagLength;
        if (plaintext.Length < length)
        {
            throw new ArgumentException($"The plaintext buffer needs {length} bytes.", nameof(plaintext));
        }

        ThrowIfExhausted();
        if (!_cipher.Decrypt(Nonce, associatedData, ciphertext, plaintext[..length]))
        {
            CryptographicOperations.ZeroMemory(plaintext[..length]);
            throw new NoiseException("Authentication failed: the message was altered, or the keys do not match.");
        }

        Nonce++;
        return length;
    }

    /// <summary>k = REKEY(k) (§4.2, §11.3): the first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes). n is kept.</summary>
    public void Rekey()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_cipher is null)
        {
            throw new InvalidOperationException("Rekey needs a key.");
        }

        Span<byte> buffer = stackalloc byte[KeyLength + TagLength];
        buffer.Clear();
        _cipher.Encrypt(MaxNonce, default, buffer[..KeyLength], buffer);
        var cipher = NoiseCipher.Create(_function, buffer[..KeyLength]);
        CryptographicOperations.ZeroMemory(buffer);
        _cipher.Dispose();
        _cipher = cipher;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _cipher?.Dispose();
        _cipher = null;
        Nonce = 0;
    }

    private void ThrowIfExhausted()
    {
        if (Nonce == MaxNonce)
        {
            throw new NoiseException("The nonce is exhausted; this CipherState can no longer be used.");
        }
    }
}
