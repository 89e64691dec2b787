using MyChips.Data.Domain;
using MyChips.Server.Hosting;

namespace MyChips.Server.Api;

/// <summary>Creates (or loads) the site's agent key once the schema is ready, so the first start of a site has one.</summary>
internal sealed class AgentStartupService(InstanceStatus status, SiteAgents agents, ILogger<AgentStartupService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (status.State != InstanceState.Serving)
            {
                if (status.State == InstanceState.Fenced)
                    return;
                await Task.Delay(100, stoppingToken).ConfigureAwait(false);
            }

            var agent = await agents.GetAsync(stoppingToken).ConfigureAwait(false);
            logger.LogInformation("Site agent {Agent} ({Host}:{Port})", agent.Id, agent.Host, agent.Port);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
