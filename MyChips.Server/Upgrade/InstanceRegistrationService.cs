using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using MyChips.Data.Schema;
using MyChips.Data.Upgrade;
using MyChips.Server.Hosting;
using Npgsql;

namespace MyChips.Server.Upgrade;

/// <summary>
/// Keeps this instance's row in <c>mychips_meta.instances</c>: written at start, at every state change and every
/// heartbeat interval; reads back a drain request written by another process (the fallback when a NOTIFY was
/// missed); expires the rows of instances that stopped heart-beating and deletes those stopped longer than
/// <c>Upgrade:InstanceRetention</c> ago; repairs a schema phase left <c>migrating</c> by a dead leader; marks the row
/// stopped once the host stopped.
/// </summary>
internal sealed class InstanceRegistrationService(
    InstanceRegistry registry,
    SchemaMigrator migrator,
    InstanceIdentity identity,
    InstanceStatus status,
    InstanceDrain drain,
    IServer server,
    IOptions<UpgradeOptions> options,
    ILogger<InstanceRegistrationService> logger) : BackgroundService, IHostedLifecycleService
{
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        status.Changed += OnChanged;
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The host is stopping (SIGTERM, a drain, a fence): no new work from here on.</summary>
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        status.SetIf([InstanceState.Starting, InstanceState.Holding, InstanceState.Serving], InstanceState.Draining, "shutting down");
        return Task.CompletedTask;
    }

    /// <summary>In-flight work is done and the listeners are closed: the row says stopped.</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        status.Changed -= OnChanged;
        var (state, reason) = status.Snapshot();
        var finalReason = state == InstanceState.Fenced ? $"exited fenced: {reason}" : reason ?? "stopped in order";
        try
        {
            // Not linked to the host's token: it is already cancelled when the shutdown timeout ran out, and one short
            // bounded statement is what tells the others this instance is gone (not merely silent).
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await registry.MarkAsync(identity.Id, InstanceStates.Stopped, finalReason, timeout.Token).ConfigureAwait(false);
            logger.LogInformation("Instance {Instance} stopped ({Reason})", identity, finalReason);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            logger.LogWarning("Could not mark the instance stopped ({Message}); its heartbeat will expire", e.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var beats = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var registered = await registry.HeartbeatAsync(Heartbeat(), stoppingToken).ConfigureAwait(false);
                if (registered?.State == InstanceStates.Draining && status.State is not (InstanceState.Draining or InstanceState.Fenced or InstanceState.Stopped))
                {
                    drain.Request(registered.Reason ?? "drain requested through the registry");
                }

                if (registered is not null && beats++ % 5 == 0)
                {
                    await registry.ExpireStaleAsync(options.Value.HeartbeatExpiry, stoppingToken).ConfigureAwait(false);
                    var pruned = await registry.PruneStoppedAsync(options.Value.InstanceRetention, stoppingToken).ConfigureAwait(false);
                    if (pruned > 0)
                    {
                        logger.LogInformation("Pruned {Count} instance row(s) stopped more than {Retention} ago", pruned, options.Value.InstanceRetention);
                    }

                    // A leader that died later than this instance's start leaves the phase for the survivors to repair.
                    await migrator.RepairAbandonedPhaseAsync(options.Value.HeartbeatExpiry, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (NpgsqlException e)
            {
                logger.LogWarning("Heartbeat failed: {Message}", e.Message);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            wait.CancelAfter(options.Value.HeartbeatInterval);
            try
            {
                await _changed.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The interval passed (or the host stops; the loop condition decides).
            }
        }
    }

    private void OnChanged(InstanceState state) => _changed.Writer.TryWrite(true);

    private InstanceHeartbeat Heartbeat()
    {
        var (state, reason) = status.Snapshot();
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
        return new InstanceHeartbeat(identity.Id, identity.Host, identity.Pid, identity.CodeVersion, identity.CodeSchemaVersion,
            JsonSerializer.Serialize(new { web = addresses }), state.ToString().ToLowerInvariant(), reason);
    }
}
