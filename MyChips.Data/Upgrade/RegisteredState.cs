namespace MyChips.Data.Upgrade;

/// <summary>The state the registry holds for an instance after a heartbeat; <c>draining</c> when another process asked it to drain.</summary>
public sealed record RegisteredState(string State, string? Reason);
