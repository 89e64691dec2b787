using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace MyChips.Data.Crypto;

/// <summary>
/// The tally/chit/lift <c>date</c> form <c>YYYY-MM-DDTHH:MM:SS.fffZ</c> (PROTOCOL §2.6): UTC, exactly three fraction
/// digits. Signed and hashed text contains it, so values are truncated to milliseconds like <c>timestamptz(3)</c>
/// before anything is rendered.
/// </summary>
public static class ChipTimestamp
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Drops sub-millisecond ticks and converts to UTC.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - utc.Ticks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
    }

    public static string ToText(DateTimeOffset value) =>
        Truncate(value).ToString(Format, CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"Not a YYYY-MM-DDTHH:MM:SS.fffZ timestamp: '{text}'.");

    /// <summary>Accepts exactly the form <see cref="ToText"/> writes (24 characters, ASCII digits, literal <c>Z</c>).</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out DateTimeOffset value)
    {
        value = default;
        if (text is null || text.Length != 24)
            return false;
        for (int i = 0; i < text.Length; i++)
        {
            bool digitPosition = i is not (4 or 7 or 10 or 13 or 16 or 19 or 23);
            if (digitPosition && !char.IsAsciiDigit(text[i]))
                return false;
        }
        return DateTimeOffset.TryParseExact(text, Format, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }
}
