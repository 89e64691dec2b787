using System.Globalization;
using System.Text;

namespace MyChips.Data.Crypto;

/// <summary>ECMAScript Number::toString(x) for radix 10, which is what JSON.stringify writes for a finite number.</summary>
internal static class EcmaNumberFormat
{
    /// <summary>Formats the double that JS JSON.parse would produce for <paramref name="literal"/>.</summary>
    public static void AppendLiteral(StringBuilder sb, string literal) =>
        Append(sb, double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture));

    public static void Append(StringBuilder sb, double value)
    {
        if (!double.IsFinite(value))
        {
            sb.Append("null"); // JSON.stringify writes non-finite numbers (e.g. a parsed 1e400) as null
            return;
        }
        if (value == 0)
        {
            sb.Append('0'); // -0 too
            return;
        }

        var (negative, digits, n) = DecimalDigits.FromDouble(value);
        int k = digits.Length;
        if (negative)
            sb.Append('-');
        if (k <= n && n <= 21)
            sb.Append(digits).Append('0', n - k);
        else if (0 < n && n <= 21)
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        else if (-6 < n && n <= 0)
            sb.Append("0.").Append('0', -n).Append(digits);
        else
        {
            int e = n - 1;
            sb.Append(digits[0]);
            if (k > 1)
                sb.Append('.').Append(digits, 1, k - 1);
            sb.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString(CultureInfo.InvariantCulture));
        }
    }
}
