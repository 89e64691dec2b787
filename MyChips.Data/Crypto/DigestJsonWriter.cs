using System.Globalization;
using System.Text;

namespace MyChips.Data.Crypto;

/// <summary>Serialiser D's leaves: code-point key order, ASCII-only escaping, Python int/float text.</summary>
internal sealed class DigestJsonWriter : CanonicalJsonWriter
{
    private readonly DigestNumberMode _mode;

    private DigestJsonWriter(DigestNumberMode mode) => _mode = mode;

    public static DigestJsonWriter PythonLiteral { get; } = new(DigestNumberMode.PythonLiteral);

    public static DigestJsonWriter PostgresJsonb { get; } = new(DigestNumberMode.PostgresJsonb);

    public static DigestJsonWriter For(DigestNumberMode mode) =>
        mode == DigestNumberMode.PostgresJsonb ? PostgresJsonb : PythonLiteral;

    protected override IComparer<string> KeyOrder => CodePointComparer.Instance;

    protected override void WriteNumber(StringBuilder sb, string literal)
    {
        var text = _mode == DigestNumberMode.PostgresJsonb ? PostgresNumericText.Normalise(literal) : literal;
        // json.loads: no fraction and no exponent → int (exact, any size); otherwise float.
        if (text.AsSpan().IndexOfAny('.', 'e', 'E') < 0)
        {
            sb.Append(text == "-0" ? "0" : text);
        }
        else
        {
            PythonFloatFormat.Append(sb, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
        }
    }

    // Python's py_encode_basestring_ascii: '"', '\\', \b \f \n \r \t, everything else outside ' '..'~' as \uxxxx.
    // .NET strings are UTF-16 already, so an astral character comes out as its surrogate pair, like Python's.
    protected override void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            if (TryAppendShortEscape(sb, c))
            {
                continue;
            }

            if (c < 0x20 || c > 0x7e)
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
