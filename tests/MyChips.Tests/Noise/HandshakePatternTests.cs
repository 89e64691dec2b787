using MyChips.Peer.Noise;

namespace MyChips.Tests.Noise;

public sealed class HandshakePatternTests
{
    private static readonly string[] Fundamental = ["N", "K", "X", "NN", "NK", "NX", "KN", "KK", "KX", "XN", "XK", "XX", "IN", "IK", "IX"];

    private static readonly string[] Deferred =
    [
        "NK1", "NX1", "X1N", "X1K", "XK1", "X1K1", "X1X", "XX1", "X1X1",
        "K1N", "K1K", "KK1", "K1K1", "K1X", "KX1", "K1X1",
        "I1N", "I1K", "IK1", "I1K1", "I1X", "IX1", "I1X1",
    ];

    [Fact]
    public void All_15_fundamental_and_23_deferred_patterns_are_known()
    {
        Assert.Equal(23, Deferred.Length);
        Assert.Equal(Fundamental.Concat(Deferred).Order(), HandshakePattern.StandardNames.Order());
        foreach (string name in Fundamental.Concat(Deferred))
        {
            var pattern = HandshakePattern.Parse(name);
            Assert.Equal(name.Length == 1, pattern.IsOneWay);
            Assert.True(pattern.Messages[0].FromInitiator);
        }
    }

    [Fact]
    public void Psk_modifiers_are_placed_per_section_9_2()
    {
        var pattern = HandshakePattern.Parse("XXpsk0+psk3");

        Assert.Equal("XX", pattern.BaseName);
        Assert.Equal(new[] { "psk0", "psk3" }, pattern.Modifiers.ToArray());
        Assert.Equal(2, pattern.PskCount);
        Assert.Equal("-> psk, e", pattern.Messages[0].ToString());
        Assert.Equal("-> s, se, psk", pattern.Messages[2].ToString());
    }

    [Fact]
    public void Deferred_pattern_parses_to_its_spec_tokens()
    {
        var pattern = HandshakePattern.Parse("X1K1");

        Assert.Equal(new[] { NoiseToken.S }, pattern.ResponderPreMessage.ToArray());
        Assert.Empty(pattern.InitiatorPreMessage);
        Assert.Equal(new[] { "-> e", "<- e, ee, es", "-> s", "<- se" }, pattern.Messages.Select(m => m.ToString()).ToArray());
    }

    [Fact]
    public void Unknown_patterns_and_modifiers_are_refused()
    {
        Assert.Throws<FormatException>(() => HandshakePattern.Parse("ZZ"));
        Assert.Throws<FormatException>(() => HandshakePattern.Parse("NNpsk3"));
        Assert.Throws<NotSupportedException>(() => HandshakePattern.Parse("XXfallback"));
    }

    [Fact]
    public void Protocol_name_with_448_parses_but_is_reported_unsupported()
    {
        var protocol = NoiseProtocol.Parse("Noise_XX_448_AESGCM_SHA512");

        Assert.Equal(NoiseDhFunction.Curve448, protocol.Dh);
        Assert.Equal(NoiseCipherFunction.AesGcm, protocol.Cipher);
        Assert.Equal(NoiseHashFunction.Sha512, protocol.Hash);
        Assert.False(protocol.IsSupported);
        Assert.Throws<NotSupportedException>(() => new HandshakeState(protocol, NoiseRole.Initiator));
    }

    [Fact]
    public void Malformed_protocol_names_are_refused()
    {
        Assert.False(NoiseProtocol.TryParse("Noise_XX_25519_ChaChaPoly", out _, out string? error));
        Assert.NotNull(error);
        Assert.False(NoiseProtocol.TryParse("Noise_XX_25519_ChaChaPoly_MD5", out _, out _));
        Assert.False(NoiseProtocol.TryParse("Nois_XX_25519_ChaChaPoly_SHA256", out _, out _));
    }
}
