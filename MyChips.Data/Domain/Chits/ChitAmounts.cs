namespace MyChips.Data.Domain;

/// <summary>Amount rules (PROTOCOL 2.5): integer milliCHIPs; a JS verifier reads numbers as doubles, so at most 2^53−1.</summary>
public static class ChitAmounts
{
    public const long Max = 9_007_199_254_740_991;

    public static void EnsurePayment(long units)
    {
        if (units is < 1 or > Max)
            throw DomainErrors.AmountOutOfRange($"units must be an integer number of milliCHIPs from 1 to {Max}; got {units}.");
    }
}
