namespace MyChips.Data.Domain;

/// <summary>
/// The bounds that keep every total of the ledger exact (docs/peer-rules.md): a tally's net and pending net stay within
/// ±(2^53−1) milliCHIPs, a tally holds at most <see cref="MaxPendingChits"/> pending invoices, and a user at most
/// <see cref="MaxBalanceTallies"/> tallies that carry a balance, so the sum over a user's tallies fits a bigint. The
/// migration backs each bound with a CHECK constraint; the domain refuses first, with a 409.
/// </summary>
public static class LedgerBounds
{
    public const long MaxTotal = ChitAmounts.Max;

    public const int MaxPendingChits = 100;

    /// <summary>2^63 / 2^53: this many tallies at the largest balance still sum within a bigint.</summary>
    public const int MaxBalanceTallies = 1024;

    /// <summary><paramref name="total"/> + <paramref name="amount"/>, refused when it leaves ±<see cref="MaxTotal"/>.</summary>
    internal static long Add(long total, long amount, string what)
    {
        // Both operands are within ±2^53, so the sum cannot overflow a long before it is checked.
        var sum = total + amount;
        if (sum is < -MaxTotal or > MaxTotal)
            throw DomainErrors.TotalOutOfRange(what);
        return sum;
    }
}
