using System.Globalization;

namespace MyChips.Data.Crypto;

/// <summary>
/// A JSON number literal that means one and the same value in the three readings the protocol gives it: a JS double
/// for signatures (S), jsonb numeric then a Python float for digests (D), numeric/decimal for a column. Bounded, so
/// that no reading can overflow, underflow or round (docs/numbers.md).
/// </summary>
internal static class ExactNumber
{
    /// <summary>Largest exponent magnitude written in the literal (<c>5e-3</c> is fine, <c>1e-400</c> is not).</summary>
    public const int MaxExponent = 15;

    /// <summary>Significant digits every double keeps exactly (DBL_DIG): such a decimal survives S and D unchanged.</summary>
    public const int MaxSignificantDigits = 15;

    /// <summary>
    /// The exact value of <paramref name="literal"/> when it has at most <paramref name="maxDecimals"/> digits after
    /// the point once its exponent is applied (written trailing zeros count: jsonb keeps them), an exponent within
    /// ±<see cref="MaxExponent"/>, and at most <see cref="MaxSignificantDigits"/> significant digits.
    /// </summary>
    public static bool TryRead(string literal, int maxDecimals, out decimal value)
    {
        value = 0;
        NumberLiteralParts parts;
        try
        {
            parts = NumberLiteralParts.Parse(literal);
        }
        catch (FormatException)
        {
            return false;
        }

        if (Math.Abs(parts.Exponent) > MaxExponent || Math.Max(0, parts.Fraction.Length - parts.Exponent) > maxDecimals)
            return false;
        var digits = DecimalDigits.Parse(literal);
        if (digits.Digits.Length > MaxSignificantDigits
            || !decimal.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
            return false;

        // Follows from the bounds above; checked rather than assumed: the double S and D start from has the same digits.
        var asDouble = double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
        return digits.Digits.Length == 0 ? asDouble == 0 : double.IsFinite(asDouble) && DecimalDigits.FromDouble(asDouble) == digits;
    }
}
