using System.Security.Cryptography;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

public sealed class CanonicalJsonVectorTests
{
    public static TheoryData<string> Names => CanonicalJsonVectors.Names();

    [Fact]
    public void VectorFileHasVectors() => Assert.True(Names.Count >= 14);

    [Theory]
    [MemberData(nameof(Names))]
    public void SigningSerialiserMatches(string name)
    {
        var v = CanonicalJsonVectors.Load(name);
        var node = JsonNode.Parse(v.GetProperty("input").GetString()!);

        Assert.Equal(v.GetProperty("S").GetString(), SigningJson.Serialize(node));
        Assert.Equal(v.GetProperty("S_sha256_b64v").GetString(),
            Base64Url.Encode(SHA256.HashData(SigningJson.SerializeToUtf8Bytes(node))));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void DigestSerialiserMatches(string name)
    {
        var v = CanonicalJsonVectors.Load(name);
        var node = JsonNode.Parse(v.GetProperty("input").GetString()!);

        Assert.Equal(v.GetProperty("D").GetString(), DigestJson.Serialize(node, DigestNumberMode.PythonLiteral));
        Assert.Equal(v.GetProperty("D_sha256_b64v").GetString(), Base64Url.Encode(DigestJson.Hash(node, DigestNumberMode.PythonLiteral)));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void PostgresModeDiffersOnlyWhereJsonbRewritesNumbers(string name)
    {
        // The vectors hold no exponent-written integers, so jsonb normalisation must not change them
        // except for the "floats" vector, where 1e21 becomes an int and 1e-7 keeps being a float.
        var v = CanonicalJsonVectors.Load(name);
        var node = JsonNode.Parse(v.GetProperty("input").GetString()!);
        string pg = DigestJson.Serialize(node, DigestNumberMode.PostgresJsonb);
        if (name == "floats")
            Assert.Equal("{\"half\":0.5,\"huge\":1000000000000000000000,\"neg\":-2.5,\"one\":1.0,\"third\":0.3333333333333333,\"tiny\":1e-07}", pg);
        else
            Assert.Equal(v.GetProperty("D").GetString(), pg);
    }
}
