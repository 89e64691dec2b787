using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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
    public static string Serialize(JsonNode? node, DigestNumberMode mode = DigestNumberMode.PostgresJsonb)
    {
        var sb = new StringBuilder();
        Write(sb, node, mode);
        return sb.ToString();
    }

    public static byte[] SerializeToUtf8Bytes(JsonNode? node, DigestNumberMode mode = DigestNumberMode.PostgresJsonb) =>
        Encoding.ASCII.GetBytes(Serialize(node, mode));

    /// <summary>SHA-256 of D(node): 32 bytes, as <c>mychips.j2h</c> returns it.</summary>
    public static byte[] Hash(JsonNode? node, DigestNumberMode mode = DigestNumberMode.PostgresJsonb) =>
        SHA256.HashData(SerializeToUtf8Bytes(node, mode));

    private static void Write(StringBuilder sb, JsonNode? node, DigestNumberMode mode)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                var keys = new string[obj.Count];
                int n = 0;
                foreach (var member in obj)
                    keys[n++] = member.Key;
                Array.Sort(keys, CodePointComparer.Instance);
                sb.Append('{');
                for (int i = 0; i < keys.Length; i++)
                {
                    if (i > 0)
                        sb.Append(',');
                    WriteString(sb, keys[i]);
                    sb.Append(':');
                    Write(sb, obj[keys[i]], mode);
                }
                sb.Append('}');
                break;
            case JsonArray arr:
                sb.Append('[');
                for (int i = 0; i < arr.Count; i++)
                {
                    if (i > 0)
                        sb.Append(',');
                    Write(sb, arr[i], mode);
                }
                sb.Append(']');
                break;
            case JsonValue value:
                WriteValue(sb, value, mode);
                break;
        }
    }

    private static void WriteValue(StringBuilder sb, JsonValue value, DigestNumberMode mode)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(sb, JsonLeaf.String(value));
                break;
            case JsonValueKind.Number:
                WriteNumber(sb, JsonLeaf.NumberLiteral(value), mode);
                break;
            case JsonValueKind.True:
                sb.Append("true");
                break;
            case JsonValueKind.False:
                sb.Append("false");
                break;
            case JsonValueKind.Null:
                sb.Append("null");
                break;
            default:
                throw new ArgumentException($"Unsupported JSON value kind {value.GetValueKind()}.", nameof(value));
        }
    }

    private static void WriteNumber(StringBuilder sb, string literal, DigestNumberMode mode)
    {
        string text = mode == DigestNumberMode.PostgresJsonb ? PostgresNumericText.Normalise(literal) : literal;
        // json.loads: no fraction and no exponent → int (exact, any size); otherwise float.
        if (text.AsSpan().IndexOfAny('.', 'e', 'E') < 0)
            sb.Append(text == "-0" ? "0" : text);
        else
            PythonFloatFormat.Append(sb, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    // Python's py_encode_basestring_ascii: '"', '\\', \b \f \n \r \t, everything else outside ' '..'~' as \uxxxx.
    // .NET strings are UTF-16 already, so an astral character comes out as its surrogate pair, like Python's.
    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\t': sb.Append("\\t"); break;
                case '\n': sb.Append("\\n"); break;
                case '\f': sb.Append("\\f"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (c < 0x20 || c > 0x7e)
                        SigningJson.AppendUnicodeEscape(sb, c);
                    else
                        sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
