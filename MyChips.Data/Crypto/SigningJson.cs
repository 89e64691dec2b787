using System.Text;
using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>
/// Serialiser S (PROTOCOL §3.2): json-stable-stringify as the reference signs with it. Keys sorted by UTF-16 code
/// units, no whitespace, leaves as JS <c>JSON.stringify</c> writes them (numbers as doubles, minimal escaping,
/// non-ASCII literal). The signed bytes are the UTF-8 of the result.
/// </summary>
public static class SigningJson
{
    public static string Serialize(JsonNode? node) => SigningJsonWriter.Instance.Serialize(node);

    public static byte[] SerializeToUtf8Bytes(JsonNode? node) => Encoding.UTF8.GetBytes(Serialize(node));
}
