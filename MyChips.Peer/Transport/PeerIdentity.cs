using System.Security.Cryptography;
using MyChips.Data.Crypto;
using MyChips.Peer.Noise;

namespace MyChips.Peer.Transport;

/// <summary>
/// This site's agent on the peer network: its agent ID, the Noise static key derived from the Ed25519 agent key
/// (PROTOCOL §2.2–2.3), and the host/port stamped into outgoing <c>from</c> (§4.4).
/// </summary>
public sealed class PeerIdentity : IDisposable
{
    public PeerIdentity(AgentKey agentKey, string? host = null, int? port = null)
    {
        ArgumentNullException.ThrowIfNull(agentKey);
        byte[] x = agentKey.DeriveX25519PrivateKey();
        try
        {
            StaticKey = X25519KeyPair.FromPrivateKey(x);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(x);
        }

        // §2.3 check: X25519(x, 9) must equal the conversion of our own Ed25519 public key.
        Span<byte> converted = stackalloc byte[X25519KeyPair.KeyLength];
        if (!Curve25519Conversion.TryConvertPublicKey(agentKey.PublicKey, converted) || !converted.SequenceEqual(StaticKey.PublicKey))
        {
            StaticKey.Dispose();
            throw new CryptographicException("The agent key's X25519 conversion does not match its derived static key.");
        }

        AgentId = agentKey.Id;
        Host = host;
        Port = port;
    }

    /// <summary>b64v of the Ed25519 public key.</summary>
    public string AgentId { get; }

    /// <summary>Where peers reach us; stamped into <c>from.host</c> when set.</summary>
    public string? Host { get; }

    public int? Port { get; }

    /// <summary>The Noise static key pair. Owned by this object.</summary>
    public X25519KeyPair StaticKey { get; }

    public static PeerIdentity FromKeyFile(AgentKeyFile file) => new(file.Key, file.Host, file.Port);

    public void Dispose() => StaticKey.Dispose();
}
