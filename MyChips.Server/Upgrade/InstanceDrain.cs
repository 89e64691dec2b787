using MyChips.Server.Hosting;

namespace MyChips.Server.Upgrade;

/// <summary>
/// Drains this instance on request (NOTIFY, the registry, or the operator's <c>mychips upgrade drain</c>): it stops
/// taking new work and shuts down in order; the host's shutdown lets in-flight work finish within the drain timeout.
/// </summary>
internal sealed class InstanceDrain(InstanceStatus status, IHostApplicationLifetime lifetime, ILogger<InstanceDrain> logger)
{
    private int _requested;

    public void Request(string reason)
    {
        if (Interlocked.Exchange(ref _requested, 1) == 1)
        {
            return;
        }

        if (status.SetIf([InstanceState.Starting, InstanceState.Holding, InstanceState.Serving], InstanceState.Draining, reason))
        {
            logger.LogWarning("Drain requested ({Reason}): taking no new work, finishing in-flight work, then exiting", reason);
        }

        lifetime.StopApplication();
    }
}
