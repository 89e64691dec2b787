using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MyChips.Peer.Transport;

/// <summary>
/// Creates the manager at start (so configuration errors surface then), warns when raw mode is on, and closes peer
/// connections as soon as the application begins stopping, before Kestrel waits for its connections to drain.
/// </summary>
internal sealed class PeerTransportStartup(PeerConnectionManager manager, IHostApplicationLifetime lifetime, ILogger<PeerTransportStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = manager.Options;
        if (options.AnyRaw)
        {
            logger.LogWarning(
                "Peer raw mode is enabled ({Scope}): those peers' traffic is plaintext, unauthenticated and not bound to their agent (PROTOCOL §4.5)",
                options.Mode == PeerTransportMode.Raw ? "for every peer" : $"for {options.PeerModes.Count(p => p.Value == PeerTransportMode.Raw)} peer(s)");
        }

        lifetime.ApplicationStopping.Register(static m => _ = ((PeerConnectionManager)m!).ShutdownAsync(), manager);
        logger.LogInformation("Peer transport for agent {Agent}: default mode {Mode}", manager.LocalAgent, options.Mode);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => manager.ShutdownAsync();
}
