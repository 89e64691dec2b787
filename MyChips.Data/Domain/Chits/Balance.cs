namespace MyChips.Data.Domain;

/// <summary>A user's balance in milliCHIPs over their open and closed tallies (positive: others owe the user).</summary>
public sealed record Balance(long Net, long NetPending, IReadOnlyList<TallyBalance> Tallies);

public sealed record TallyBalance(Guid Tally, string Status, long Net, long NetPending);
