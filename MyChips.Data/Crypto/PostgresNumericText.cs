namespace MyChips.Data.Crypto;

/// <summary>
/// The text PostgreSQL prints for a JSON number literal after it has been stored as jsonb (<c>numeric</c>):
/// plain notation, never an exponent, scale = max(0, fraction digits − exponent) as in <c>numeric_in</c>.
/// So <c>1e2</c> → <c>100</c>, <c>1.0e2</c> → <c>100</c>, <c>1.50</c> → <c>1.50</c>, <c>2.5e-3</c> → <c>0.0025</c>, <c>-0.0</c> → <c>0.0</c>.
/// </summary>
internal static class PostgresNumericText
{
    // numeric's limits: 131072 digits before the point, 16383 after.
    private const int MaxIntegerDigits = 131072;
    private const int MaxScale = 16383;

    public static string Normalise(string literal)
    {
        var parts = NumberLiteralParts.Parse(literal);
        bool negative = parts.Negative;
        long exponent = parts.Exponent;
        ReadOnlySpan<char> intPart = parts.Integer;
        ReadOnlySpan<char> fracPart = parts.Fraction;

        long scale = Math.Max(0, fracPart.Length - exponent);
        // value × 10^scale is an integer: all digits followed by (exponent − fraction length + scale) zeros.
        long zeros = exponent - fracPart.Length + scale;
        string allDigits = string.Concat(intPart, fracPart).TrimStart('0');
        if (scale > MaxScale || allDigits.Length + zeros - scale > MaxIntegerDigits)
            throw new OverflowException("Number is out of range for PostgreSQL numeric.");

        string scaled = allDigits.Length == 0 ? "" : allDigits + new string('0', (int)zeros);
        bool isZero = scaled.Length == 0;
        string padded = scaled.PadLeft((int)scale + 1, '0');
        int split = padded.Length - (int)scale;
        string sign = negative && !isZero ? "-" : ""; // numeric has no negative zero
        return scale == 0 ? sign + padded : string.Concat(sign, padded.AsSpan(0, split), ".", padded.AsSpan(split));
    }
}
