using System.Text.RegularExpressions;

namespace MyChips.Data.Domain;

/// <summary>The CHIP user id syntax, the same rule as the <c>users.cuid</c> check constraint.</summary>
public static partial class CuidRule
{
    public static bool IsValid(string cuid) => Pattern().IsMatch(cuid);

    [GeneratedRegex("^[A-Za-z0-9_.~-]{1,64}$")]
    private static partial Regex Pattern();
}
