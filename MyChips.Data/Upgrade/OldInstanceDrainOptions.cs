namespace MyChips.Data.Upgrade;

/// <param name="HeartbeatExpiry">A heartbeat older than this means the instance is gone.</param>
/// <param name="WaitTimeout">How long the leader waits for old instances before it goes on regardless.</param>
public sealed record OldInstanceDrainOptions(TimeSpan HeartbeatExpiry, TimeSpan WaitTimeout);
