using System.Collections.Immutable;

namespace MyChips.Peer.Noise;

/// <summary>One handshake message: its direction and its tokens in order.</summary>
public sealed record MessagePattern(bool FromInitiator, ImmutableArray<NoiseToken> Tokens)
{
    public override string ToString() =>
        (FromInitiator ? "-> " : "<- ") + string.Join(", ", Tokens.Select(HandshakePattern.FormatToken));
}
