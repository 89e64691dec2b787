using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>
/// The tree walk both canonical serialisers share: sorted keys, no whitespace, arrays in order. The two differ
/// only in key order, string escaping and number formatting (PROTOCOL §3.4), which subclasses supply.
/// </summary>
internal abstract class CanonicalJsonWriter
{
    protected abstract IComparer<string> KeyOrder { get; }

    protected abstract void WriteString(StringBuilder sb, string s);

    protected abstract void WriteNumber(StringBuilder sb, string literal);

    public string Serialize(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(sb, node);
        return sb.ToString();
    }

    internal static void AppendUnicodeEscape(StringBuilder sb, char c) =>
        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));

    /// <summary>The escapes both forms share; false for any other character.</summary>
    protected static bool TryAppendShortEscape(StringBuilder sb, char c)
    {
        var escape = c switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\b' => "\\b",
            '\t' => "\\t",
            '\n' => "\\n",
            '\f' => "\\f",
            '\r' => "\\r",
            _ => null,
        };
        if (escape is null)
        {
            return false;
        }

        sb.Append(escape);
        return true;
    }

    private void Write(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                var keys = new string[obj.Count];
                var n = 0;
                foreach (var member in obj)
                {
                    keys[n++] = member.Key;
                }

                Array.Sort(keys, KeyOrder);
                sb.Append('{');
                for (var i = 0; i < keys.Length; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    WriteString(sb, keys[i]);
                    sb.Append(':');
                    Write(sb, obj[keys[i]]);
                }

                sb.Append('}');
                break;
            case JsonArray arr:
                sb.Append('[');
                for (var i = 0; i < arr.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    Write(sb, arr[i]);
                }

                sb.Append(']');
                break;
            case JsonValue value:
                WriteValue(sb, value);
                break;
        }
    }

    private void WriteValue(StringBuilder sb, JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(sb, JsonLeaf.String(value));
                break;
            case JsonValueKind.Number:
                WriteNumber(sb, JsonLeaf.NumberLiteral(value));
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
}
