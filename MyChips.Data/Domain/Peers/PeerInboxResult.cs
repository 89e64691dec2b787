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

/// <summary>
/// The outcome of <see cref="PeerInbox.ReceiveAsync"/>: the reason of a refusal (told to the sender), its detail (for our
/// log only: it may name users and tallies a stranger must not learn about), and notes on what the context guard ignored.
/// </summary>
public sealed record PeerInboxResult(PeerInboxOutcome Outcome, string? Reason = null, string? Detail = null, IReadOnlyList<string>? Notes = null)
{
    public static readonly PeerInboxResult Applied = new(PeerInboxOutcome.Applied);

    public static readonly PeerInboxResult Duplicate = new(PeerInboxOutcome.Duplicate);

    public static PeerInboxResult AppliedWithNotes(IReadOnlyList<string> notes) => new(PeerInboxOutcome.Applied, Notes: notes);

    public static PeerInboxResult Rejected(string reason, string? detail = null) => new(PeerInboxOutcome.Rejected, reason, detail);
}
