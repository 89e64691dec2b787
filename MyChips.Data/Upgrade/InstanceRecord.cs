namespace MyChips.Data.Upgrade;

/// <summary>A row of <c>mychips_meta.instances</c>: one running (or lately running) process of the site.</summary>
public sealed record InstanceRecord(
    Guid Id,
    string Host,
    int Pid,
    string CodeVersion,
    int CodeSchemaVersion,
    string Listeners,
    string State,
    string? Reason,
    DateTime StartedAt,
    DateTime HeartbeatAt,
    double HeartbeatAgeSeconds);
