using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MyChips.Data.Upgrade;
using MyChips.Server.Hosting;
using MyChips.Server.Upgrade;

namespace MyChips.Server.Cli;

/// <summary><c>mychips upgrade status</c>: database version, pending migrations, the instances not stopped (<c>--all</c>: every one).</summary>
internal static class UpgradeStatusCommand
{
    public static Command Create(SiteOptions site)
    {
        var json = new Option<bool>("--json") { Description = "Print the status as one JSON object." };
        var all = new Option<bool>("--all") { Description = "List stopped instances too (kept for Upgrade:InstanceRetention)." };
        var status = new Command("status", "Show the database schema version, pending migrations and the instances not stopped.") { json, all };
        status.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            var upgrade = SiteConfiguration.Build(site.Flags(result)).Bind<UpgradeOptions>(UpgradeOptions.Section);
            upgrade.Validate();
            using var loggers = CliLogging.CreateFactory();
            await using var session = await SiteDatabaseSession.OpenAsync(site.Flags(result), loggers, cancellationToken).ConfigureAwait(false);
            var snapshot = await session.Migrator.ReadAsync(cancellationToken).ConfigureAwait(false);
            var registered = await new InstanceRegistry(session.DataSource).ListAsync(cancellationToken).ConfigureAwait(false);
            // Stopped rows stay for a while (history, the drain's evidence); by default the operator sees who runs. A
            // row whose heartbeat expired but that nobody marked stopped yet is shown, flagged stale.
            var instances = result.GetValue(all) ? registered : registered.Where(i => i.State != InstanceStates.Stopped).ToList();
            var hidden = registered.Count - instances.Count;
            var pending = snapshot.Pending.Select(m => new { m.Number, m.Name, Mode = m.Mode.ToString().ToLowerInvariant() }).ToList();
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    database = snapshot.State,
                    codeSchemaVersion = snapshot.Code.CodeVersion,
                    compatibility = snapshot.Compatibility.ToString(),
                    pending,
                    instances,
                }, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
                return 0;
            }

            var state = snapshot.State;
            Console.WriteLine($"Database schema version: {state.Version} (min code version {state.MinCodeVersion}), phase {state.Phase}, epoch {state.Epoch}, leader {state.Leader?.ToString() ?? "-"}");
            Console.WriteLine($"Code schema version:     {snapshot.Code.CodeVersion} ({snapshot.Compatibility.ToString().ToLowerInvariant()})");
            Console.WriteLine(pending.Count == 0 ? "Pending migrations:      none" : "Pending migrations:");
            foreach (var migration in pending)
            {
                Console.WriteLine($"  {migration.Number:D4}_{migration.Name}  {migration.Mode}");
            }

            var expiry = upgrade.HeartbeatExpiry;
            Console.WriteLine(instances.Count > 0 ? "Instances:" : hidden > 0 ? "Instances:               none running" : "Instances:               none registered");
            foreach (var i in instances)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {i.Id}  {i.Host} pid {i.Pid}  code {i.CodeVersion} schema {i.CodeSchemaVersion}  {i.State,-8}  heartbeat {i.HeartbeatAgeSeconds:F1}s ago{(i.State != "stopped" && i.HeartbeatAgeSeconds > expiry.TotalSeconds ? " (stale)" : "")}{(i.Reason is null ? "" : "  " + i.Reason)}"));
            }

            if (hidden > 0)
            {
                Console.WriteLine($"  ({hidden} stopped instance(s) not shown; --all lists them)");
            }

            return 0;
        }));
        return new Command("upgrade", "Inspect and steer upgrades of the site.") { status, UpgradeDrainCommand.Create(site) };
    }
}
