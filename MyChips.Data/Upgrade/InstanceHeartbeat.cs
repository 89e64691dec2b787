namespace MyChips.Data.Upgrade;

/// <summary>What an instance writes about itself at every heartbeat and state change.</summary>
/// <param name="State">One of <see cref="InstanceStates"/>.</param>
/// <param name="Listeners">A JSON object naming the listeners and their addresses.</param>
public sealed record InstanceHeartbeat(
    Guid Id,
    string Host,
    int Pid,
    string CodeVersion,
    int CodeSchemaVersion,
    string Listeners,
    string State,
    string? Reason);
