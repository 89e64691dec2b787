using System.Text;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

public sealed class SigningJsonTests
{
    // Expected values from Node: JSON.stringify(JSON.parse(literal)).
    [Theory]
    [InlineData("1.0", "1")]
    [InlineData("1e16", "10000000000000000")]
    [InlineData("1e-5", "0.00001")]
    [InlineData("1e-6", "0.000001")]
    [InlineData("1e-7", "1e-7")]
    [InlineData("1.5e-7", "1.5e-7")]
    [InlineData("1e20", "100000000000000000000")]
    [InlineData("1e21", "1e+21")]
    [InlineData("999999999999999999999", "1e+21")]
    [InlineData("123456789012345678901234567890", "1.2345678901234568e+29")]
    [InlineData("1E+2", "100")]
    [InlineData("2.5e-3", "0.0025")]
    [InlineData("-0", "0")]
    [InlineData("-0.0", "0")]
    [InlineData("123456789.123456789", "123456789.12345679")]
    [InlineData("5e-324", "5e-324")]
    [InlineData("1.7976931348623157e308", "1.7976931348623157e+308")]
    [InlineData("-1.5e300", "-1.5e+300")]
    [InlineData("1e400", "null")]
    [InlineData("9007199254740993", "9007199254740992")]
    public void NumbersAreEcmaScriptDoubles(string literal, string expected) =>
        Assert.Equal(expected, SigningJson.Serialize(JsonNode.Parse(literal)));

    [Fact]
    public void EscapesOnlyQuoteBackslashAndControls()
    {
        var node = new JsonObject { ["s"] = "\u0000\b\t\n\f\r\u001f\u007f\"\\/<>&é€\U0001F600\u2028" };
        Assert.Equal("{\"s\":\"\\u0000\\b\\t\\n\\f\\r\\u001f\u007f\\\"\\\\/<>&é€\U0001F600\u2028\"}", SigningJson.Serialize(node));
    }

    [Fact]
    public void LoneSurrogateIsEscapedLikeWellFormedStringify()
    {
        var node = new JsonArray(JsonValue.Create("a\ud800b"));
        Assert.Equal("[\"a\\ud800b\"]", SigningJson.Serialize(node));
    }

    [Fact]
    public void Utf8BytesAreLiteralNonAscii()
    {
        var node = new JsonObject { ["k"] = "é\U0001F600" };
        Assert.Equal(Encoding.UTF8.GetBytes("{\"k\":\"é\U0001F600\"}"), SigningJson.SerializeToUtf8Bytes(node));
    }

    [Fact]
    public void KeysSortByUtf16CodeUnits()
    {
        var node = JsonNode.Parse("{\"\\uffff\":1,\"\\ud83d\\ude00\":2,\"b\":3,\"B\":4,\"\":5}");
        Assert.Equal("{\"\":5,\"B\":4,\"b\":3,\"\U0001F600\":2,\"\uffff\":1}", SigningJson.Serialize(node));
    }

    [Fact]
    public void NullsAreKeptAndArraysKeepOrder()
    {
        var node = JsonNode.Parse("{\"b\":[3,null,1],\"a\":null}");
        Assert.Equal("{\"a\":null,\"b\":[3,null,1]}", SigningJson.Serialize(node));
    }

    [Fact]
    public void ClrValuesAreWrittenAsTheirJson()
    {
        var node = new JsonObject
        {
            ["units"] = 1500L,
            ["rate"] = 0.05m,
            ["ok"] = true,
            ["id"] = Guid.Parse("7b8a3a4c-0a2b-4c35-9a7e-1d2e3f4a5b6c"),
            ["none"] = null,
        };
        Assert.Equal("{\"id\":\"7b8a3a4c-0a2b-4c35-9a7e-1d2e3f4a5b6c\",\"none\":null,\"ok\":true,\"rate\":0.05,\"units\":1500}",
            SigningJson.Serialize(node));
    }
}
