using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

public sealed class DigestJsonTests
{
    // Expected values from Python 3: json.dumps(json.loads(literal)).
    [Theory]
    [InlineData("1.0", "1.0")]
    [InlineData("1e16", "1e+16")]
    [InlineData("1e15", "1000000000000000.0")]
    [InlineData("12345678901234567.0", "1.2345678901234568e+16")]
    [InlineData("1e-5", "1e-05")]
    [InlineData("1e-4", "0.0001")]
    [InlineData("1e21", "1e+21")]
    [InlineData("1e-7", "1e-07")]
    [InlineData("1e2", "100.0")]
    [InlineData("1.0e2", "100.0")]
    [InlineData("1E+2", "100.0")]
    [InlineData("2.5e-3", "0.0025")]
    [InlineData("-0", "0")]
    [InlineData("-0.0", "-0.0")]
    [InlineData("100.0", "100.0")]
    [InlineData("0.1", "0.1")]
    [InlineData("123456789.123456789", "123456789.12345679")]
    [InlineData("5e-324", "5e-324")]
    [InlineData("1.7976931348623157e308", "1.7976931348623157e+308")]
    [InlineData("1e400", "Infinity")]
    [InlineData("-1e400", "-Infinity")]
    [InlineData("123456789012345678901234567890", "123456789012345678901234567890")]
    [InlineData("-123456789012345678901234567890", "-123456789012345678901234567890")]
    public void PythonLiteralNumbers(string literal, string expected) =>
        Assert.Equal(expected, DigestJson.Serialize(JsonNode.Parse(literal), DigestNumberMode.PythonLiteral));

    // What mychips.j2h sees after jsonb has re-printed the literal as numeric (PROTOCOL §3.5).
    [Theory]
    [InlineData("1", "1")]
    [InlineData("1.0", "1.0")]
    [InlineData("1.50", "1.5")]
    [InlineData("1e2", "100")]
    [InlineData("1.0e2", "100")]
    [InlineData("1.00e2", "100")]
    [InlineData("1.000e2", "100.0")]
    [InlineData("1E+2", "100")]
    [InlineData("2.5e-3", "0.0025")]
    [InlineData("1e16", "10000000000000000")]
    [InlineData("1e21", "1000000000000000000000")]
    [InlineData("1.5e21", "1500000000000000000000")]
    [InlineData("1e-5", "1e-05")]
    [InlineData("1e-7", "1e-07")]
    [InlineData("-0", "0")]
    [InlineData("-0.0", "0.0")]
    [InlineData("0e5", "0")]
    [InlineData("0.000e1", "0.0")]
    [InlineData("-12e-1", "-1.2")]
    [InlineData("123456789012345678901234567890", "123456789012345678901234567890")]
    [InlineData("1.23456789012345678901234567890e29", "123456789012345678901234567890")]
    [InlineData("1e400", "1" + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")]
    public void PostgresJsonbNumbers(string literal, string expected) =>
        Assert.Equal(expected, DigestJson.Serialize(JsonNode.Parse(literal), DigestNumberMode.PostgresJsonb));

    [Fact]
    public void NonAsciiAstralDelAndControlsAreEscaped()
    {
        var node = new JsonObject { ["s"] = "\u0000\b\t\n\f\r\u001f\u007f\"\\/<>é€\U0001F600\u2028~" };
        Assert.Equal("{\"s\":\"\\u0000\\b\\t\\n\\f\\r\\u001f\\u007f\\\"\\\\/<>\\u00e9\\u20ac\\ud83d\\ude00\\u2028~\"}",
            DigestJson.Serialize(node));
    }

    [Fact]
    public void KeysSortByCodePointAndAreEscaped()
    {
        var node = JsonNode.Parse("{\"\\uffff\":1,\"\\ud83d\\ude00\":2,\"\\ufb01\":3,\"b\":4,\"B\":5,\"\\u00e9\":6}");
        Assert.Equal("{\"B\":5,\"b\":4,\"\\u00e9\":6,\"\\ufb01\":3,\"\\uffff\":1,\"\\ud83d\\ude00\":2}", DigestJson.Serialize(node));
    }

    [Fact]
    public void OriginalLiteralsSurviveDeepClone()
    {
        var node = JsonNode.Parse("{\"a\":{\"x\":1.0,\"y\":1e2,\"z\":123456789012345678901234567890}}")!;
        var clone = new JsonObject { ["copy"] = node["a"]!.DeepClone() };
        Assert.Equal("{\"copy\":{\"x\":1.0,\"y\":100.0,\"z\":123456789012345678901234567890}}", DigestJson.Serialize(clone, DigestNumberMode.PythonLiteral));
    }

    [Fact]
    public void HashIsSha256OfAsciiText()
    {
        var node = JsonNode.Parse("{\"b\":\"é\",\"a\":1}");
        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes("{\"a\":1,\"b\":\"\\u00e9\"}")), DigestJson.Hash(node));
        Assert.Equal(32, DigestJson.Hash(node, DigestNumberMode.PostgresJsonb).Length);
    }

    [Fact]
    public void NullTopLevelAndMembers()
    {
        Assert.Equal("null", DigestJson.Serialize(null));
        Assert.Equal("{\"a\":null,\"b\":[null]}", DigestJson.Serialize(JsonNode.Parse("{\"b\":[null],\"a\":null}")));
    }
}
