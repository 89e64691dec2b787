using System.Globalization;

namespace MyChips.Data.Crypto;

/// <summary>
/// A decimal number literal split into its sign, integer digits, fraction digits and exponent, without any
/// rounding: the common first step of every number rendering here (ECMAScript, Python, PostgreSQL numeric).
/// </summary>
internal readonly ref struct NumberLiteralParts
{
    private NumberLiteralParts(bool negative, ReadOnlySpan<char> integer, ReadOnlySpan<char> fraction, long exponent)
    {
        Negative = negative;
        Integer = integer;
        Fraction = fraction;
        Exponent = exponent;
    }

    public bool Negative { get; }

    public ReadOnlySpan<char> Integer { get; }

    public ReadOnlySpan<char> Fraction { get; }

    public long Exponent { get; }

    /// <exception cref="FormatException">Not a decimal literal, or an exponent too large to represent.</exception>
    public static NumberLiteralParts Parse(ReadOnlySpan<char> text)
    {
        var negative = false;
        if (text.Length > 0 && (text[0] == '-' || text[0] == '+'))
        {
            negative = text[0] == '-';
            text = text[1..];
        }

        long exponent = 0;
        var e = text.IndexOfAny('e', 'E');
        if (e >= 0)
        {
            if (!long.TryParse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent)
                || Math.Abs(exponent) > int.MaxValue / 2)
            {
                throw new FormatException("Number exponent is out of range.");
            }

            text = text[..e];
        }

        var dot = text.IndexOf('.');
        var integer = dot >= 0 ? text[..dot] : text;
        var fraction = dot >= 0 ? text[(dot + 1)..] : [];
        if (integer.Length + fraction.Length == 0 || integer.ContainsAnyExceptInRange('0', '9') || fraction.ContainsAnyExceptInRange('0', '9'))
        {
            throw new FormatException("Not a decimal number literal.");
        }

        return new NumberLiteralParts(negative, integer, fraction, exponent);
    }
}
