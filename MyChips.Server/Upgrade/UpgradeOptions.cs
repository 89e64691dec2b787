using MyChips.Server.Hosting;

namespace MyChips.Server.Upgrade;

/// <summary>The upgrade mode of one instance (configuration section <c>Upgrade</c>, DESIGN.md 4.3).</summary>
public sealed class UpgradeOptions
{
    public const string Section = "Upgrade";

    /// <summary>How long a held request waits for the schema before it is answered 503 with <c>Retry-After</c>.</summary>
    public TimeSpan HoldTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a draining instance lets in-flight work finish (the host's shutdown timeout).</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the instance refreshes its row in <c>mychips_meta.instances</c>.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A heartbeat older than this counts as a dead instance.</summary>
    public TimeSpan HeartbeatExpiry { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the leader waits for old instances to drain before a contract migration.</summary>
    public TimeSpan OldInstanceWaitTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>What a fenced instance does: exit (non-zero) or stay up answering 503.</summary>
    public FencedBehaviour FencedBehaviour { get; set; } = FencedBehaviour.Exit;

    /// <summary>How long the row of a stopped (or expired) instance stays in <c>mychips_meta.instances</c>.</summary>
    public TimeSpan InstanceRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the key of a value that cannot work.</summary>
    public void Validate()
    {
        // At least a minute: rows are pruned by the heartbeat loop, and an operator needs a moment to read them.
        if (InstanceRetention < TimeSpan.FromMinutes(1) || InstanceRetention > TimeSpan.FromDays(3650))
            throw new ConfigurationException($"{Section}:{nameof(InstanceRetention)} must be from 00:01:00 to 3650.00:00:00; got {InstanceRetention}.");
    }
}
