using System.Net;
using Microsoft.Extensions.Options;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Server.Hosting;

namespace MyChips.Server.Peer;

/// <summary>
/// Brings the peer transport up: once the server has bound its listeners the agent's address is known (the bound
/// peer endpoint or the configured public one); once the instance serves, the agent key is read from the database and
/// the <see cref="PeerConnectionManager"/> is created. Connections that arrived meanwhile wait in the hold gate.
/// </summary>
internal sealed class SitePeerStartupService(
    IHostApplicationLifetime lifetime,
    InstanceStatus status,
    PeerListenerBinding binding,
    AgentAddress address,
    SiteAgents agents,
    SitePeerTransport transport,
    IPeerMessageSink sink,
    PeerKeyResolver keys,
    IOptions<PeerTransportOptions> transportOptions,
    IOptions<SitePeerOptions> options,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<SitePeerStartupService>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await WhenStartedAsync(stoppingToken).ConfigureAwait(false);
            var bound = binding.EndPoint;
            var host = options.Value.PublicHost
                ?? (bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : bound.Address.ToString());
            var port = options.Value.PublicPort ?? bound.Port;
            address.Set(host, port);

            while (status.State != InstanceState.Serving)
            {
                if (status.State is InstanceState.Fenced or InstanceState.Stopped)
                    return;
                await Task.Delay(100, stoppingToken).ConfigureAwait(false);
            }

            PeerIdentity identity;
            using (var key = await agents.LoadKeyAsync(stoppingToken).ConfigureAwait(false))
                identity = new PeerIdentity(key, host, port);
            if (transportOptions.Value.AnyRaw)
                _logger.LogWarning("Peer raw mode is enabled for some peers: their traffic is plaintext and not bound to their agent (PROTOCOL 4.5)");
            var manager = new PeerConnectionManager(identity, sink, keys, transportOptions, loggers.CreateLogger<PeerConnectionManager>());
            lifetime.ApplicationStopping.Register(static m => _ = ((PeerConnectionManager)m!).ShutdownAsync(), manager);
            transport.Set(manager, identity);
            _logger.LogInformation("Peer agent {Agent} listening on {Bound}, reachable at {Host}:{Port} ({Mode})",
                identity.AgentId, bound, host, port, transportOptions.Value.Mode);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The web API keeps serving; peers are held at the gate and their senders retry.
            _logger.LogError(e, "The peer transport could not start");
        }
    }

    private Task WhenStartedAsync(CancellationToken cancellationToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), started);
        return started.Task.WaitAsync(cancellationToken);
    }
}
