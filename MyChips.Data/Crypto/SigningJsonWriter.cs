using System.Text;

namespace MyChips.Data.Crypto;

/// <summary>Serialiser S's leaves: UTF-16 key order, JS string escaping, ECMAScript number text.</summary>
internal sealed class SigningJsonWriter : CanonicalJsonWriter
{
    public static SigningJsonWriter Instance { get; } = new();

    protected override IComparer<string> KeyOrder => StringComparer.Ordinal;

    protected override void WriteNumber(StringBuilder sb, string literal) => EcmaNumberFormat.AppendLiteral(sb, literal);

    // JSON.stringify's QuoteJSONString (ES2019 "well-formed"): only '"', '\\', C0 controls and lone surrogates are escaped.
    protected override void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (TryAppendShortEscape(sb, c))
            {
                continue;
            }

            if (c < 0x20)
            {
                AppendUnicodeEscape(sb, c);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                AppendUnicodeEscape(sb, c);
            }
            else
            {
                sb.Append(c);
            }
        }

        sb.Append('"');
    }
}
