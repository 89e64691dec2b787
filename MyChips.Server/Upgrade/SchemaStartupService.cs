using MyChips.Data.Schema;

using MyChips.Server.Hosting;

namespace MyChips.Server.Upgrade;

/// <summary>
/// Brings the database to this code's schema version after the listeners are open, then marks the instance
/// serving. A schema refusal fences the instance with the reason, which <c>/readyz</c> shows.
/// </summary>
internal sealed class SchemaStartupService(
    SchemaMigrator migrator,
    InstanceIdentity identity,
    InstanceStatus status,
    ILogger<SchemaStartupService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var snapshot = await migrator.ReadAsync(stoppingToken).ConfigureAwait(false);
            if (snapshot.Compatibility == SchemaCompatibility.Upgrade)
            {
                status.Set(InstanceState.Holding, $"upgrading schema {snapshot.State.Version} -> {migrator.Code.CodeVersion}");
            }

            var outcome = await migrator.MigrateAsync(identity.ToString(), identity.Id, beforeContract: null, stoppingToken).ConfigureAwait(false);
            logger.LogInformation("Database schema version {Version}, code schema version {CodeVersion}; serving",
                outcome.Final.State.Version, migrator.Code.CodeVersion);
            status.Set(InstanceState.Serving);
        }
        catch (SchemaException e)
        {
            logger.LogCritical("Schema refused ({Code}): {Message}", e.Code, e.Message);
            status.Set(InstanceState.Fenced, $"{e.Code}: {e.Message}");
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
