namespace MyChips.Data.Retention;

/// <summary>
/// Section <c>Retention</c>: how long rows that only grow are kept once they are done with, and how they are pruned.
/// </summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>Pruning on (the default) or off, per instance.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between two pruning runs (the first runs once the instance serves).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Rows deleted per transaction, so that no run holds row locks or a snapshot for long.</summary>
    public int BatchSize { get; set; } = 1000;

    /// <summary>Login tickets, challenges, sessions and invitations, past their expiry (an expired one can do nothing).</summary>
    public TimeSpan Tokens { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Outbox rows settled (delivered, withdrawn, retired, refused or given up), after they settled.</summary>
    public TimeSpan Outbox { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Ids of applied peer messages, after they arrived. A sender re-sends a message until it gets a receipt, for up to
    /// its <c>Peer:MaxTries</c> with waits up to <c>Peer:MaxRetryWait</c> (100 × 10 min ≈ 17 h by default); an id
    /// forgotten earlier would let a late re-send be applied twice. Thirty days leaves a wide margin.
    /// </summary>
    public TimeSpan ReceivedMessages { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Push events, after they were written: a WebSocket client resuming with <c>?since=</c> older than this misses events.</summary>
    public TimeSpan UserEvents { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Redeemed invitations, after their first offer came (used) or they expired.</summary>
    public TimeSpan Redemptions { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The smallest <see cref="ReceivedMessages"/> accepted: below a day, ordinary re-sends could outlive the ids.</summary>
    public static readonly TimeSpan MinReceivedMessages = TimeSpan.FromDays(1);

    /// <summary>Returns the first problem as "key: reason", or null when every value can work.</summary>
    public string? Problem()
    {
        var longest = TimeSpan.FromDays(3650);
        foreach (var (key, value) in new[] { (nameof(Tokens), Tokens), (nameof(Outbox), Outbox), (nameof(UserEvents), UserEvents), (nameof(Redemptions), Redemptions) })
        {
            if (value <= TimeSpan.Zero || value > longest)
                return $"{Section}:{key} must be more than zero and at most 3650 days; got {value}.";
        }

        if (ReceivedMessages < MinReceivedMessages || ReceivedMessages > longest)
            return $"{Section}:{nameof(ReceivedMessages)} must be from 1 to 3650 days (peers re-send a message for hours before they give up); got {ReceivedMessages}.";
        if (Interval < TimeSpan.FromSeconds(1) || Interval > TimeSpan.FromDays(1))
            return $"{Section}:{nameof(Interval)} must be from 1 second to 1 day; got {Interval}.";
        if (BatchSize is < 1 or > 100_000)
            return $"{Section}:{nameof(BatchSize)} must be from 1 to 100000; got {BatchSize}.";
        return null;
    }
}
