using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

public sealed class JsonStripTests
{
    [Fact]
    public void RemovesNullMembersRecursivelyAndKeepsArrayNulls()
    {
        var node = JsonNode.Parse("{\"a\":null,\"b\":{\"c\":null,\"d\":1.0},\"e\":[null,{\"f\":null,\"g\":2},[null]],\"h\":\"x\"}");
        var stripped = JsonStrip.StripNulls(node);
        Assert.Equal("{\"b\":{\"d\":1.0},\"e\":[null,{\"g\":2},[null]],\"h\":\"x\"}", DigestJson.Serialize(stripped));
    }

    [Fact]
    public void ReturnsANewTreeAndLeavesTheInputAlone()
    {
        var node = JsonNode.Parse("{\"a\":null,\"b\":{\"c\":null}}")!;
        var stripped = JsonStrip.StripNulls(node)!;
        Assert.NotSame(node, stripped);
        Assert.Equal("{\"a\":null,\"b\":{\"c\":null}}", SigningJson.Serialize(node));
        Assert.Equal("{\"b\":{}}", SigningJson.Serialize(stripped));
    }

    [Fact]
    public void ScalarsAndNullPassThrough()
    {
        Assert.Null(JsonStrip.StripNulls(null));
        Assert.Equal("1e2", JsonStrip.StripNulls(JsonNode.Parse("1e2"))!.ToJsonString());
    }
}
