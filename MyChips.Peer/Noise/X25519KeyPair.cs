using System.Security.Cryptography;
using NSec.Cryptography;

namespace MyChips.Peer.Noise;

/// <summary>
/// An X25519 key pair for Noise (static or ephemeral). The private key stays inside NSec's guarded memory
/// and is wiped on <see cref="Dispose"/>; only the public key is readable.
/// </summary>
public sealed class X25519KeyPair : IDisposable
{
    public const int KeyLength = 32;

    private static readonly KeyAgreementAlgorithm Algorithm = KeyAgreementAlgorithm.X25519;

    private readonly Key _key;
    private readonly byte[] _publicKey;

    private X25519KeyPair(Key key)
    {
        _key = key;
        _publicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>The 32-byte public key (u-coordinate, little-endian).</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    /// <summary>Creates a fresh random key pair.</summary>
    public static X25519KeyPair Generate() => new(Key.Create(Algorithm));

    /// <summary>
    /// Builds a key pair from a raw 32-byte X25519 private key (for example one derived from the agent's Ed25519 seed,
    /// PROTOCOL §2.3). Clamping is applied by X25519 itself, so clamped and unclamped forms give the same pair.
    /// </summary>
    public static X25519KeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeyLength)
        {
            throw new ArgumentException($"An X25519 private key is {KeyLength} bytes.", nameof(privateKey));
        }

        return new X25519KeyPair(Key.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey));
    }

    /// <summary>
    /// DH(this, publicKey) into <paramref name="sharedSecret"/> (32 bytes). Fails on a low-order public key,
    /// whose all-zero output would make the DH worthless.
    /// </summary>
    internal void Agree(ReadOnlySpan<byte> publicKey, Span<byte> sharedSecret)
    {
        if (!NSec.Cryptography.PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var remote) || remote is null)
        {
            throw new NoiseException("The remote X25519 public key is malformed.");
        }

        var parameters = new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        using var secret = Algorithm.Agree(_key, remote, in parameters)
            ?? throw new NoiseException("X25519 with the remote public key gave the all-zero output (low-order point).");
        if (!secret.TryExport(SharedSecretBlobFormat.RawSharedSecret, sharedSecret, out int written) || written != KeyLength)
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
            throw new NoiseException("The X25519 shared secret could not be exported.");
        }
    }

    public void Dispose() => _key.Dispose();
}
