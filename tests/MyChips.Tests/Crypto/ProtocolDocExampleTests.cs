using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

/// <summary>The worked example of docs/protocol.md §2.2, so the page cannot drift from what the serialisers do.</summary>
public sealed class ProtocolDocExampleTests
{
    private const string Input = "{\"b\":1.0,\"a\":\"é\",\"c\":1e2,\"d\":0.00001}";

    [Fact]
    public void Form_S_of_the_doc_example_is_as_documented() =>
        Assert.Equal("{\"a\":\"é\",\"b\":1,\"c\":100,\"d\":0.00001}", SigningJson.Serialize(JsonNode.Parse(Input)));

    [Fact]
    public void Form_D_of_the_doc_example_is_as_documented() =>
        Assert.Equal("{\"a\":\"\\u00e9\",\"b\":1.0,\"c\":100,\"d\":1e-05}",
            DigestJson.Serialize(JsonNode.Parse(Input), DigestNumberMode.PostgresJsonb));
}
