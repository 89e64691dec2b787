using System.CommandLine;
using MyChips.Data.Upgrade;
using MyChips.Server.Hosting;
using MyChips.Server.Upgrade;

namespace MyChips.Server.Cli;

/// <summary><c>mychips migrate [--dry-run]</c>: apply (or list) pending migrations as leader, without serving.</summary>
internal static class MigrateCommand
{
    public static Command Create(SiteOptions site)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "List the pending migrations with their modes; change nothing." };
        var command = new Command("migrate", "Bring the site database to this code's schema version, then exit.") { dryRun };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            using var loggers = CliLogging.CreateFactory();
            await using var session = await SiteDatabaseSession.OpenAsync(site.Flags(result), loggers, cancellationToken).ConfigureAwait(false);
            var snapshot = await session.Migrator.ReadAsync(cancellationToken).ConfigureAwait(false);
            snapshot.EnsureConsistent();
            var pending = snapshot.Pending.ToList();
            if (result.GetValue(dryRun))
            {
                Console.WriteLine($"Database schema version {snapshot.State.Version}; code schema version {snapshot.Code.CodeVersion}.");
                Console.WriteLine(pending.Count == 0 ? "No pending migrations." : $"{pending.Count} pending migration(s):");
                foreach (var migration in pending)
                {
                    Console.WriteLine($"  {migration.FileName}  {migration.Mode.ToString().ToLowerInvariant()}");
                }

                return 0;
            }

            var identity = InstanceIdentity.ForThisProcess(snapshot.Code.CodeVersion);
            // A contract migration drains the old instances first, exactly as a leading instance does.
            var upgrade = SiteConfiguration.Build(site.Flags(result)).Bind<UpgradeOptions>(UpgradeOptions.Section);
            var oldInstances = new OldInstanceDrain(new InstanceRegistry(session.DataSource),
                new OldInstanceDrainOptions(upgrade.HeartbeatExpiry, upgrade.OldInstanceWaitTimeout), TimeProvider.System,
                loggers.CreateLogger<OldInstanceDrain>());
            var appliedBy = $"mychips migrate {identity}";
            var outcome = await session.Migrator.MigrateAsync(appliedBy, identity.Id,
                (migration, token) => oldInstances.BeforeContractAsync(migration, appliedBy, token), cancellationToken).ConfigureAwait(false);
            Console.WriteLine(outcome.Applied.Count == 0
                ? $"Nothing to apply; database schema version {outcome.Final.State.Version}."
                : $"Applied {outcome.Applied.Count} migration(s); database schema version {outcome.Final.State.Version}.");
            return 0;
        }));
        return command;
    }
}
