using System.Globalization;
using System.Text;

namespace MyChips.Data.Crypto;

/// <summary>Python's float.__repr__ ("short" repr style), which json.dumps uses for floats.</summary>
internal static class PythonFloatFormat
{
    public static void Append(StringBuilder sb, double value)
    {
        if (double.IsNaN(value))
        {
            sb.Append("NaN");
            return;
        }
        if (double.IsInfinity(value))
        {
            sb.Append(value > 0 ? "Infinity" : "-Infinity"); // json.dumps(allow_nan=True) spelling
            return;
        }
        if (value == 0)
        {
            sb.Append(double.IsNegative(value) ? "-0.0" : "0.0");
            return;
        }

        var (negative, digits, n) = DecimalDigits.FromDouble(value);
        int k = digits.Length;
        if (negative)
            sb.Append('-');
        if (-4 < n && n <= 16)
        {
            if (n <= 0)
                sb.Append("0.").Append('0', -n).Append(digits);
            else if (n >= k)
                sb.Append(digits).Append('0', n - k).Append(".0");
            else
                sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else
        {
            int e = n - 1;
            sb.Append(digits[0]);
            if (k > 1)
                sb.Append('.').Append(digits, 1, k - 1);
            sb.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString("00", CultureInfo.InvariantCulture));
        }
    }
}
