using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>
/// Serialiser D (PROTOCOL §3.3–3.5): Python <c>json.dumps(obj, sort_keys=True, separators=(',',':'))</c>
/// (<c>ensure_ascii=True</c>) as <c>mychips.j2h</c> runs it. Keys sorted by code point, everything outside
/// U+0020–U+007E escaped as lowercase <c>\uXXXX</c>, integers copied digit for digit, floats as Python repr.
/// The output is pure ASCII.
/// </summary>
public static class DigestJson
{
    public static string Serialize(JsonNode? node, DigestNumberMode mode = DigestNumberMode.PostgresJsonb) =>
        DigestJsonWriter.For(mode).Serialize(node);

    public static byte[] SerializeToUtf8Bytes(JsonNode? node, DigestNumberMode mode = DigestNumberMode.PostgresJsonb) =>
        Encoding.ASCII.GetBytes(Serialize(node, mode));

    /// <summary>SHA-256 of D(node): 32 bytes, as <c>mychips.j2h</c> returns it.</summary>
    public static byte[] Hash(JsonNode? node, DigestNumberMode mode = DigestNumberMode.PostgresJsonb) =>
        SHA256.HashData(SerializeToUtf8Bytes(node, mode));
}
