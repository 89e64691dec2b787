namespace MyChips.Data.Domain;

/// <summary>A peer's receipt for our outbox message <see cref="Key"/>: delivered, or refused with a reason.</summary>
public sealed record OutboxReceipt(string PeerAgent, string Key, string? Refusal);
