using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>
/// The agent key file <c>pki/local/&lt;id&gt;.agk</c> of the reference (<c>bin/agentkey</c>):
/// <c>{host, port, key:{kty:"OKP", crv:"Ed25519", x, d}}</c>. The caller owns (disposes) <see cref="Key"/>.
/// </summary>
public sealed record AgentKeyFile(string Host, int Port, AgentKey Key)
{
    /// <exception cref="InvalidKeyException">The file is not of this form or holds an unusable key.</exception>
    public static AgentKeyFile Parse(JsonNode? node)
    {
        if (node is not JsonObject obj)
            throw new InvalidKeyException(InvalidKeyReason.Malformed, "An agent key file must be a JSON object.");
        string host = AgentKey.RequiredString(obj, "host");
        int port = ReadPort(obj["port"]);
        var keyNode = obj["key"] ?? throw new InvalidKeyException(InvalidKeyReason.Malformed, "Member 'key' is missing.");
        return new AgentKeyFile(host, port, AgentKey.FromJwk(keyNode));
    }

    /// <exception cref="InvalidKeyException">Malformed JSON, a member given twice, or not a key file.</exception>
    public static AgentKeyFile Parse(string json)
    {
        JsonNode? node;
        try
        {
            // Duplicates refused at parse time: a JsonObject holding one threw ArgumentException at first access.
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new InvalidKeyException(InvalidKeyReason.Malformed, $"The agent key file is not valid JSON: {e.Message}");
        }

        return Parse(node);
    }

    public JsonObject ToJson() => new()
    {
        ["host"] = Host,
        ["port"] = Port,
        ["key"] = Key.ExportJwk(),
    };

    // Written as a number; a numeric string (config values can end up as strings) is accepted too.
    private static int ReadPort(JsonNode? node)
    {
        if (node is JsonValue v)
        {
            if (v.GetValueKind() == JsonValueKind.Number && int.TryParse(JsonLeaf.NumberLiteral(v), NumberStyles.None, CultureInfo.InvariantCulture, out int n)
                && n is > 0 and <= 65535)
                return n;
            if (v.GetValueKind() == JsonValueKind.String && int.TryParse(JsonLeaf.String(v), NumberStyles.None, CultureInfo.InvariantCulture, out n)
                && n is > 0 and <= 65535)
                return n;
        }
        throw new InvalidKeyException(InvalidKeyReason.Malformed, "Member 'port' is not a port number.");
    }
}
