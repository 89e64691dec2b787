using MyChips.Data.Crypto;
using NSec.Cryptography;

namespace MyChips.Tests.Crypto;

public sealed class Curve25519ConversionTests
{
    [Fact]
    public void MatchesLibsodiumEd25519ConvertTest()
    {
        // libsodium test/default/ed25519_convert.c
        byte[] seed = Convert.FromHexString("421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee");
        using var agent = AgentKey.FromSeed(seed);

        var xPublic = new byte[32];
        Assert.True(Curve25519Conversion.TryConvertPublicKey(agent.PublicKey, xPublic));
        Assert.Equal("f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50", Convert.ToHexStringLower(xPublic));
        Assert.Equal("8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166",
            Convert.ToHexStringLower(agent.DeriveX25519PrivateKey()));
    }

    [Fact]
    public void BasePointConvertsToNine()
    {
        var x = new byte[32];
        Assert.True(Curve25519Conversion.TryConvertPublicKey(
            Convert.FromHexString("5866666666666666666666666666666666666666666666666666666666666666"), x));
        Assert.Equal(9, x[0]);
        Assert.All(x[1..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void ConvertedPublicEqualsX25519OfConvertedSecret()
    {
        for (int i = 0; i < 8; i++)
        {
            using var agent = AgentKey.Generate();
            byte[] secret = agent.DeriveX25519PrivateKey();
            using var x25519 = Key.Import(KeyAgreementAlgorithm.X25519, secret, KeyBlobFormat.RawPrivateKey);
            byte[] expected = x25519.PublicKey.Export(KeyBlobFormat.RawPublicKey);

            var converted = new byte[32];
            Assert.True(Curve25519Conversion.TryConvertPublicKey(agent.PublicKey, converted));
            Assert.Equal(expected, converted);
        }
    }

    [Theory]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")] // identity
    [InlineData("0100000000000000000000000000000000000000000000000000000000000080")] // identity, x = 0 with sign bit
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // order 2
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")] // order 4
    [InlineData("0000000000000000000000000000000000000000000000000000000000000080")] // order 4
    [InlineData("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")] // order 8
    [InlineData("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85")] // order 8
    [InlineData("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")] // order 8
    [InlineData("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa")] // order 8
    [InlineData("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // y = p: non-canonical
    [InlineData("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // y = p + 1: non-canonical identity
    [InlineData("0200000000000000000000000000000000000000000000000000000000000000")] // y = 2: not on the curve
    [InlineData("da99e28ba529cdde35a25fba9059e78ecaee239f99755b9b1aa4f65df00803e2")] // base point + order-8 point: mixed order
    public void RejectsBadPoints(string hex)
    {
        var x = new byte[32];
        Assert.False(Curve25519Conversion.TryConvertPublicKey(Convert.FromHexString(hex), x));
        Assert.All(x, b => Assert.Equal(0, b));
    }

    [Fact]
    public void RejectsWrongLength()
    {
        var x = new byte[32];
        Assert.False(Curve25519Conversion.TryConvertPublicKey(new byte[31], x));
        Assert.False(Curve25519Conversion.TryConvertPublicKey(new byte[33], x));
    }

    [Fact]
    public void SecretIsClampedFirstHalfOfSha512()
    {
        byte[] seed = new byte[32];
        var x = new byte[32];
        Curve25519Conversion.ConvertSeed(seed, x);
        byte[] h = System.Security.Cryptography.SHA512.HashData(seed);
        h[0] &= 0xf8;
        h[31] &= 0x7f;
        h[31] |= 0x40;
        Assert.Equal(h[..32], x);
    }
}
