using System.Text;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

public sealed class AgentKeyTests
{
    // RFC 8032 §7.1, TEST 1.
    private const string Rfc8032Seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    private const string Rfc8032Public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    private const string Rfc8032EmptySignature = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    [Fact]
    public void MatchesRfc8032()
    {
        using var key = AgentKey.FromSeed(Convert.FromHexString(Rfc8032Seed));
        Assert.Equal(Rfc8032Public, Convert.ToHexStringLower(key.PublicKey));
        Assert.Equal(Base64Url.Encode(Convert.FromHexString(Rfc8032Public)), key.Id);
        Assert.Equal(43, key.Id.Length);
        Assert.Equal(Rfc8032EmptySignature, Convert.ToHexStringLower(key.Sign([])));
        Assert.Equal(Rfc8032Seed, Convert.ToHexStringLower(key.ExportSeed()));
    }

    [Fact]
    public void SignsAndVerifiesByIdAndRawKey()
    {
        using var key = AgentKey.Generate();
        byte[] data = Encoding.UTF8.GetBytes("{\"date\":\"2025-03-03T12:00:00.000Z\",\"life\":120}");
        byte[] sig = key.Sign(data);
        Assert.Equal(AgentKey.SignatureSize, sig.Length);
        Assert.True(AgentKey.Verify(key.Id, data, sig));
        Assert.True(AgentKey.Verify(key.PublicKey, data, sig));

        sig[0] ^= 1;
        Assert.False(AgentKey.Verify(key.Id, data, sig));
        Assert.False(AgentKey.Verify(key.Id, data, sig.AsSpan(0, 63)));
        Assert.False(AgentKey.Verify("not-an-id", data, sig));
        Assert.False(AgentKey.Verify(new byte[31], data, sig));
    }

    [Fact]
    public void KeyFileRoundTrips()
    {
        using var key = AgentKey.Generate();
        var file = new AgentKeyFile("agent.example", 65430, key);
        var json = file.ToJson();
        Assert.Equal("OKP", json["key"]!["kty"]!.GetValue<string>());
        Assert.Equal("Ed25519", json["key"]!["crv"]!.GetValue<string>());
        Assert.Equal(key.Id, json["key"]!["x"]!.GetValue<string>());
        Assert.Equal(43, json["key"]!["d"]!.GetValue<string>().Length);

        var parsed = AgentKeyFile.Parse(json.ToJsonString());
        using var parsedKey = parsed.Key;
        Assert.Equal("agent.example", parsed.Host);
        Assert.Equal(65430, parsed.Port);
        Assert.Equal(key.Id, parsedKey.Id);
        Assert.Equal(key.ExportSeed(), parsedKey.ExportSeed());
    }

    [Fact]
    public void KeyFileAcceptsStringPortAndMissingX()
    {
        string d = Base64Url.Encode(Convert.FromHexString(Rfc8032Seed));
        var parsed = AgentKeyFile.Parse($"{{\"host\":\"h\",\"port\":\"65431\",\"key\":{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"{d}\"}}}}");
        using var key = parsed.Key;
        Assert.Equal(65431, parsed.Port);
        Assert.Equal(Rfc8032Public, Convert.ToHexStringLower(key.PublicKey));
    }

    [Theory]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"Ed25519\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}", InvalidKeyReason.UnsupportedKeyType)]
    [InlineData("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}", InvalidKeyReason.UnsupportedCurve)]
    [InlineData("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}", InvalidKeyReason.Malformed)]
    [InlineData("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2\"}", InvalidKeyReason.BadEncoding)]
    [InlineData("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", InvalidKeyReason.InvalidKeyMaterial)]
    public void RejectsBadJwks(string jwk, InvalidKeyReason reason)
    {
        var e = Assert.Throws<InvalidKeyException>(() => AgentKey.FromJwk(JsonNode.Parse(jwk)!));
        Assert.Equal(reason, e.Reason);
    }

    [Fact]
    public void RejectsKeyFileWithoutHostOrPort()
    {
        Assert.Throws<InvalidKeyException>(() => AgentKeyFile.Parse("{\"port\":1,\"key\":{}}"));
        Assert.Throws<InvalidKeyException>(() => AgentKeyFile.Parse("{\"host\":\"h\",\"port\":70000,\"key\":{}}"));
        Assert.Throws<InvalidKeyException>(() => AgentKeyFile.Parse("[]"));
    }

    [Fact]
    public void RejectsKeyFileWithAMemberGivenTwiceOrMalformedJson()
    {
        var e = Assert.Throws<InvalidKeyException>(() => AgentKeyFile.Parse("{\"host\":\"h\",\"host\":\"i\",\"port\":1,\"key\":{}}"));
        Assert.Equal(InvalidKeyReason.Malformed, e.Reason);
        Assert.Throws<InvalidKeyException>(() => AgentKeyFile.Parse("{\"host\":\"h\",\"port\":1,\"key\":{\"kty\":\"OKP\",\"kty\":\"OKP\"}}"));
        Assert.Throws<InvalidKeyException>(() => AgentKeyFile.Parse("{\"host\":"));
    }
}
