namespace MyChips.Server.Upgrade;

/// <summary>How the hold gate answered one unit of work.</summary>
public enum HoldOutcome
{
    /// <summary>Go on: at once, or after being held until the schema matched.</summary>
    Admitted,

    /// <summary>Held longer than the hold timeout: answer 503 with <c>Retry-After</c> (peers: let the peer retry).</summary>
    TimedOut,

    /// <summary>The instance takes no new work (draining, stopped or fenced): answer 503 with <c>Retry-After</c>.</summary>
    Refused,
}
