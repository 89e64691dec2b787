using Microsoft.Extensions.Options;
using MyChips.Data.Schema;
using MyChips.Data.Upgrade;
using MyChips.Server.Hosting;
using Npgsql;

namespace MyChips.Server.Upgrade;

/// <summary>
/// Decides, after the listeners are open, what this instance does with the database (DESIGN.md 4.3): serve; hold
/// while it leads (or waits for another leader of) the upgrade, draining old instances before a contract
/// migration; or fence itself when its code is too old. Failures to reach the database are retried while holding.
/// </summary>
internal sealed class SchemaStartupService(
    SchemaMigrator migrator,
    OldInstanceDrain oldInstances,
    InstanceIdentity identity,
    InstanceStatus status,
    InstanceFence fence,
    IOptions<UpgradeOptions> options,
    ILogger<SchemaStartupService> logger) : BackgroundService
{
    private static readonly InstanceState[] BeforeServing = [InstanceState.Starting, InstanceState.Holding];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retryDelay = TimeSpan.FromMilliseconds(500);
        while (true)
        {
            try
            {
                var snapshot = await migrator.ReadAsync(stoppingToken).ConfigureAwait(false);
                snapshot.EnsureConsistent();
                if (snapshot.Compatibility == SchemaCompatibility.Upgrade)
                {
                    status.SetIf(BeforeServing, InstanceState.Holding,
                        $"upgrading schema {snapshot.State.Version} -> {migrator.Code.CodeVersion}");
                }

                var outcome = await migrator.MigrateAsync(identity.ToString(), identity.Id,
                    (migration, token) => oldInstances.BeforeContractAsync(migration, identity.ToString(), token),
                    stoppingToken).ConfigureAwait(false);
                // An upgrade abandoned before this start (its leader gone) must not show as migrating for good.
                await migrator.RepairAbandonedPhaseAsync(options.Value.HeartbeatExpiry, stoppingToken).ConfigureAwait(false);
                if (status.SetIf(BeforeServing, InstanceState.Serving))
                {
                    logger.LogInformation("Database schema version {Version}, code schema version {CodeVersion}; serving",
                        outcome.Final.State.Version, migrator.Code.CodeVersion);
                }

                return;
            }
            catch (SchemaException e)
            {
                fence.Fence($"{e.Code}: {e.Message}");
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (NpgsqlException e)
            {
                // Still holding: the database is unreachable, or a migration failed (and was rolled back).
                logger.LogError("Schema start-up failed, retrying in {Delay} ms while holding: {Message}",
                    retryDelay.TotalMilliseconds, e.Message);
            }

            try
            {
                await Task.Delay(retryDelay, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            retryDelay = TimeSpan.FromMilliseconds(Math.Min(10_000, retryDelay.TotalMilliseconds * 2));
        }
    }
}
