using System.Security.Cryptography;
using System.Text;
using MyChips.Peer.Noise.Primitives;

namespace MyChips.Peer.Noise;

/// <summary>
/// Noise SymmetricState (§5.2): chaining key ck, handshake hash h and a <see cref="CipherState"/>.
/// Used by <see cref="HandshakeState"/>; public so that tests and protocol extensions can drive it directly.
/// </summary>
public sealed class SymmetricState : IDisposable
{
    private readonly NoiseHash _hash;
    private readonly byte[] _ck;
    private readonly byte[] _h;
    private readonly CipherState _cipher;
    private bool _disposed;

    /// <summary>InitializeSymmetric(protocol_name).</summary>
    public SymmetricState(NoiseProtocol protocol)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        Protocol = protocol;
        _hash = NoiseHash.Create(protocol.Hash);
        _ck = new byte[_hash.HashLength];
        _h = new byte[_hash.HashLength];
        _cipher = new CipherState(protocol.Cipher);

        byte[] name = Encoding.ASCII.GetBytes(protocol.Name);
        if (name.Length <= _h.Length)
        {
            name.CopyTo(_h, 0);
        }
        else
        {
            _hash.Append(name);
            _hash.Finish(_h);
        }

        _h.CopyTo(_ck, 0);
    }

    public NoiseProtocol Protocol { get; }

    /// <summary>HASHLEN of the protocol's hash function.</summary>
    public int HashLength => _h.Length;

    public bool HasKey => _cipher.HasKey;

    /// <summary>GetHandshakeHash(): h, for channel binding (§11.2).</summary>
    public ReadOnlySpan<byte> HandshakeHash => _h;

    public void MixKey(ReadOnlySpan<byte> inputKeyMaterial)
    {
        Span<byte> tempK = stackalloc byte[NoiseHash.MaxHashLength];
        tempK = tempK[..HashLength];
        NoiseKdf.Hkdf(_hash, _ck, inputKeyMaterial, _ck, tempK);
        _cipher.InitializeKey(tempK[..CipherState.KeyLength]);
        CryptographicOperations.ZeroMemory(tempK);
    }

    public void MixHash(ReadOnlySpan<byte> data)
    {
        _hash.Append(_h);
        _hash.Append(data);
        _hash.Finish(_h);
    }

    /// <summary>For PSKs (§5.2): mixes into both ck and h, then keys the cipher.</summary>
    public void MixKeyAndHash(ReadOnlySpan<byte> inputKeyMaterial)
    {
        Span<byte> temp = stackalloc byte[2 * NoiseHash.MaxHashLength];
        Span<byte> tempH = temp[..HashLength];
        Span<byte> tempK = temp.Slice(NoiseHash.MaxHashLength, HashLength);
        NoiseKdf.Hkdf(_hash, _ck, inputKeyMaterial, _ck, tempH, tempK);
        MixHash(tempH);
        _cipher.InitializeKey(tempK[..CipherState.KeyLength]);
        CryptographicOperations.ZeroMemory(temp);
    }

    /// <summary>Encrypts with h as associated data (a copy while no key is set), then mixes the ciphertext into h.</summary>
    public int EncryptAndHash(ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        int written = _cipher.EncryptWithAd(_h, plaintext, ciphertext);
        MixHash(ciphertext[..written]);
        return written;
    }

    /// <summary>Decrypts with h as associated data, then mixes the ciphertext into h. Throws <see cref="NoiseException"/>.</summary>
    public int DecryptAndHash(ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        // The ciphertext must be hashed after decrypting, so it cannot be overwritten by an in-place decryption.
        if (plaintext.Overlaps(ciphertext))
        {
            throw new ArgumentException("The plaintext buffer must not overlap the handshake ciphertext.", nameof(plaintext));
        }

        int written = _cipher.DecryptWithAd(_h, ciphertext, plaintext);
        MixHash(ciphertext);
        return written;
    }

    /// <summary>Length of EncryptAndHash's output for a plaintext of <paramref name="plaintextLength"/> bytes.</summary>
    public int GetCiphertextLength(int plaintextLength) => _cipher.GetCiphertextLength(plaintextLength);

    /// <summary>Split() (§5.2): the two transport CipherStates, c1 for initiator→responder and c2 for the reverse.</summary>
    public (CipherState C1, CipherState C2) Split()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Span<byte> temp = stackalloc byte[2 * NoiseHash.MaxHashLength];
        Span<byte> tempK1 = temp[..HashLength];
        Span<byte> tempK2 = temp.Slice(NoiseHash.MaxHashLength, HashLength);
        NoiseKdf.Hkdf(_hash, _ck, default, tempK1, tempK2);

        var c1 = new CipherState(Protocol.Cipher);
        var c2 = new CipherState(Protocol.Cipher);
        c1.InitializeKey(tempK1[..CipherState.KeyLength]);
        c2.InitializeKey(tempK2[..CipherState.KeyLength]);
        CryptographicOperations.ZeroMemory(temp);
        return (c1, c2);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CryptographicOperations.ZeroMemory(_ck);
        CryptographicOperations.ZeroMemory(_h);
        _cipher.Dispose();
        _hash.Dispose();
    }
}
