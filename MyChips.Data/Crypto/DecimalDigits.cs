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
        bool negative = false;
        if (text.Length > 0 && (text[0] == '-' || text[0] == '+'))
        {
            negative = text[0] == '-';
            text = text[1..];
        }

        long exponent = 0;
        int e = text.IndexOfAny('e', 'E');
        if (e >= 0)
        {
            if (!long.TryParse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent)
                || Math.Abs(exponent) > int.MaxValue / 2)
                throw new FormatException("Number exponent is out of range.");
            text = text[..e];
        }

        int dot = text.IndexOf('.');
        ReadOnlySpan<char> intPart = dot >= 0 ? text[..dot] : text;
        ReadOnlySpan<char> fracPart = dot >= 0 ? text[(dot + 1)..] : [];
        if (intPart.Length + fracPart.Length == 0 || intPart.ContainsAnyExceptInRange('0', '9') || fracPart.ContainsAnyExceptInRange('0', '9'))
            throw new FormatException("Not a decimal number literal.");

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
