using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>
/// Serialiser S (PROTOCOL §3.2): json-stable-stringify as the reference signs with it. Keys sorted by UTF-16 code
/// units, no whitespace, leaves as JS <c>JSON.stringify</c> writes them (numbers as doubles, minimal escaping,
/// non-ASCII literal). The signed bytes are the UTF-8 of the result.
/// </summary>
public static class SigningJson
{
    public static string Serialize(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(sb, node);
        return sb.ToString();
    }

    public static byte[] SerializeToUtf8Bytes(JsonNode? node) => Encoding.UTF8.GetBytes(Serialize(node));

    private static void Write(StringBuilder sb, JsonNode? node)
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
                Array.Sort(keys, StringComparer.Ordinal);
                sb.Append('{');
                for (int i = 0; i < keys.Length; i++)
                {
                    if (i > 0)
                        sb.Append(',');
                    WriteString(sb, keys[i]);
                    sb.Append(':');
                    Write(sb, obj[keys[i]]);
                }
                sb.Append('}');
                break;
            case JsonArray arr:
                sb.Append('[');
                for (int i = 0; i < arr.Count; i++)
                {
                    if (i > 0)
                        sb.Append(',');
                    Write(sb, arr[i]);
                }
                sb.Append(']');
                break;
            case JsonValue value:
                WriteValue(sb, value);
                break;
        }
    }

    private static void WriteValue(StringBuilder sb, JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(sb, JsonLeaf.String(value));
                break;
            case JsonValueKind.Number:
                EcmaNumberFormat.AppendLiteral(sb, JsonLeaf.NumberLiteral(value));
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

    // JSON.stringify's QuoteJSONString (ES2019 "well-formed"): only '"', '\\', C0 controls and lone surrogates are escaped.
    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
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
                    if (c < 0x20)
                        AppendUnicodeEscape(sb, c);
                    else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                        sb.Append(c).Append(s[++i]);
                    else if (char.IsSurrogate(c))
                        AppendUnicodeEscape(sb, c);
                    else
                        sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    internal static void AppendUnicodeEscape(StringBuilder sb, char c) =>
        sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
}
