using System.Globalization;

namespace MyChips.Data.Crypto;

/// <summary>
/// A decimal number as sign, significant digits and decimal-point position: value = 0.DIGITS × 10^PointPosition.
/// Shared by the ECMAScript, Python and PostgreSQL number renderings, which differ only in layout.
/// </summary>
internal readonly record struct DecimalDigits(bool Negative, string Digits, int PointPosition)
{
    /// <summary>Parses a JSON number literal (or .NET's "R" output) exactly, without going through a binary float.</summary>
    public static DecimalDigits Parse(ReadOnlySpan<char> text)
    {
        var parts = NumberLiteralParts.Parse(text);
        bool negative = parts.Negative;
        long exponent = parts.Exponent;
        ReadOnlySpan<char> intPart = parts.Integer;
        ReadOnlySpan<char> fracPart = parts.Fraction;

        string digits = string.Concat(intPart, fracPart);
        long point = intPart.Length + exponent;
        int lead = 0;
        while (lead < digits.Length && digits[lead] == '0')
            lead++;
        int end = digits.Length;
        while (end > lead && digits[end - 1] == '0')
            end--;
        if (lead == end)
            return new DecimalDigits(negative, "", 0);
        return new DecimalDigits(negative, digits[lead..end], checked((int)(point - lead)));
    }

    /// <summary>The shortest digits that round-trip <paramref name="value"/> (finite), as .NET's "R" format computes them.</summary>
    public static DecimalDigits FromDouble(double value) =>
        Parse(value.ToString("R", CultureInfo.InvariantCulture));
}
