using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>One claimed outbox row: the message for <see cref="PeerAgent"/> and its idempotency key (the wire <c>id</c>).</summary>
public sealed record OutboxItem(long OutboxId, string PeerAgent, string Key, JsonObject Message, int Attempts);
