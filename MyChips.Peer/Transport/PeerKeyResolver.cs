using System.Collections.Concurrent;
using MyChips.Data.Crypto;
using MyChips.Peer.Noise;

namespace MyChips.Peer.Transport;

/// <summary>
/// Agent ID → the peer's X25519 static public key (PROTOCOL §2.3), with IDs that fail the point checks rejected.
/// The conversion is BigInteger arithmetic (milliseconds), so results are cached per instance.
/// </summary>
public sealed class PeerKeyResolver
{
    private const int MaxEntries = 4096;

    private readonly ConcurrentDictionary<string, byte[]?> _cache = new(StringComparer.Ordinal);

    /// <summary>The converted key, or null when <paramref name="agentId"/> is not a valid agent ID.</summary>
    public byte[]? TryResolve(string? agentId)
    {
        if (string.IsNullOrEmpty(agentId) || agentId.Length > 64)
        {
            return null;
        }

        if (_cache.TryGetValue(agentId, out var cached))
        {
            return cached;
        }

        byte[]? key = Convert(agentId);
        if (_cache.Count >= MaxEntries)
        {
            // Bounded: a peer cycling through junk IDs must not grow this without limit.
            _cache.Clear();
        }

        _cache[agentId] = key;
        return key;
    }

    public byte[] Resolve(string agentId) =>
        TryResolve(agentId) ?? throw new PeerProtocolException(PeerCloseReason.InvalidAgentId, $"'{agentId}' is not a valid agent ID (PROTOCOL §2.3 point checks).");

    private static byte[]? Convert(string agentId)
    {
        if (!Base64Url.TryDecode(agentId, out var raw) || raw.Length != X25519KeyPair.KeyLength)
        {
            return null;
        }

        var x = new byte[X25519KeyPair.KeyLength];
        return Curve25519Conversion.TryConvertPublicKey(raw, x) ? x : null;
    }
}
