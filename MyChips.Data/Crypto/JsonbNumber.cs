namespace MyChips.Data.Crypto;

/// <summary>Whether a JSON number literal fits PostgreSQL numeric, which jsonb stores it as (PROTOCOL 3.5).</summary>
public static class JsonbNumber
{
    /// <summary>
    /// True when jsonb can hold <paramref name="literal"/> (at most 131072 digits before the point and 16383 after,
    /// exponent applied), so that it can be stored and digested as the database would. Stricter than PostgreSQL
    /// only for a zero written with a huge exponent (<c>0e99999999</c>), which no honest writer produces.
    /// </summary>
    public static bool Fits(string literal)
    {
        try
        {
            PostgresNumericText.Normalise(literal);
            return true;
        }
        catch (Exception e) when (e is OverflowException or FormatException)
        {
            return false;
        }
    }
}
