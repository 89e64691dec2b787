namespace MyChips.Data.Domain;

/// <summary>What became of one message from another site.</summary>
public enum PeerInboxOutcome
{
    /// <summary>Committed (its effect may be none: the context guard ignores late and repeated messages).</summary>
    Applied,

    /// <summary>Its id was applied before: nothing changed.</summary>
    Duplicate,

    /// <summary>Refused by an envelope or domain rule; nothing was written.</summary>
    Rejected,
}

/// <summary>The outcome of <see cref="PeerInbox.ReceiveAsync"/>, with the reason of a refusal.</summary>
public sealed record PeerInboxResult(PeerInboxOutcome Outcome, string? Reason = null)
{
    public static readonly PeerInboxResult Applied = new(PeerInboxOutcome.Applied);

    public static readonly PeerInboxResult Duplicate = new(PeerInboxOutcome.Duplicate);

    public static PeerInboxResult Rejected(string reason) => new(PeerInboxOutcome.Rejected, reason);
}
