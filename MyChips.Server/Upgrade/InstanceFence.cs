using Microsoft.Extensions.Options;
using MyChips.Server.Hosting;

namespace MyChips.Server.Upgrade;

/// <summary>
/// Fences this instance (DESIGN.md 4.4): it takes no more work, says why in the log and on <c>/readyz</c>, and
/// exits or stays up answering 503 as <see cref="UpgradeOptions.FencedBehaviour"/> says.
/// </summary>
internal sealed class InstanceFence(InstanceStatus status, IHostApplicationLifetime lifetime, IOptions<UpgradeOptions> options,
    ILogger<InstanceFence> logger)
{
    public void Fence(string reason)
    {
        if (status.State == InstanceState.Fenced)
        {
            return;
        }

        status.Set(InstanceState.Fenced, reason);
        if (options.Value.FencedBehaviour == FencedBehaviour.Exit)
        {
            logger.LogCritical("This instance is fenced and exits (Upgrade:FencedBehaviour=exit): {Reason}", reason);
            lifetime.StopApplication();
        }
        else
        {
            logger.LogCritical("This instance is fenced and answers 503 until stopped (Upgrade:FencedBehaviour=wait): {Reason}", reason);
        }
    }
}
