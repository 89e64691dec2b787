using System.Security.Cryptography;

namespace MyChips.Peer.Noise;

/// <summary>
/// A Noise operation failed: authentication, a malformed or oversized message, an exhausted nonce, or a call out of turn.
/// Derives from <see cref="CryptographicException"/> so callers that already guard crypto failures catch it too.
/// </summary>
public sealed class NoiseException : CryptographicException
{
    public NoiseException(string message) : base(message) { }

    public NoiseException(string message, Exception inner) : base(message, inner) { }
}
