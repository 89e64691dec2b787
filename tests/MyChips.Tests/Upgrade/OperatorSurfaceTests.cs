using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Upgrade;

/// <summary>DESIGN.md 4.6: what an operator sees and does: metrics, upgrade status, dry-run, drain.</summary>
[Collection(UpgradeCollection.Name)]
public sealed class OperatorSurfaceTests(PostgresServer server) : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly MigrationFixtures _fixtures = new();

    [Fact]
    public async Task Metrics_status_dry_run_and_drain_show_and_steer_an_instance()
    {
        var connectionString = await server.CreateDatabaseAsync("operator");
        var migrations = UpgradeMigrations.Standard(_fixtures);
        var database = new UpgradeDatabase(connectionString);
        await using var instance = SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Probe, UpgradeMigrations.OldProbeSql);
        await instance.WaitForStateAsync("serving", TimeSpan.FromSeconds(60));
        for (var i = 0; i < 3; i++)
        {
            using var response = await Http.PostAsync($"{instance.Url}/diagnostics/probe?key=m{i}&amount=1", null);
            response.EnsureSuccessStatusCode();
        }

        var metrics = await Http.GetStringAsync($"{instance.Url}/metrics");
        Assert.Contains("# TYPE mychips_requests_total counter", metrics);
        Assert.Matches(@"(?m)^mychips_requests_total [3-9]\d*$", metrics);
        Assert.Contains("mychips_held_requests_total ", metrics);
        Assert.Contains("mychips_hold_rejected_total 0", metrics);
        Assert.Contains("mychips_hold_duration_seconds_bucket{le=\"+Inf\"}", metrics);
        Assert.Contains("mychips_instance_state{state=\"serving\"} 1", metrics);

        var environment = new Dictionary<string, string>
        {
            ["MYCHIPS__Schema__MigrationsDirectory"] = migrations,
            ["MYCHIPS__Schema__CodeSchemaVersion"] = "102",
        };
        await Wait.UntilAsync(async () => await database.InstanceStateAsync(instance.Process.Pid) == "serving", TimeSpan.FromSeconds(10), "registered");
        var status = await MyChipsProcess.RunAsync(["upgrade", "status", "--db", connectionString], environment);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("Database schema version: 100 (min code version 0), phase stable", status.Output);
        Assert.Contains("Code schema version:     102 (upgrade)", status.Output);
        Assert.Contains("0101_upgrade_note  expand", status.Output);
        Assert.Contains("0102_upgrade_amount_mc  contract", status.Output);
        Assert.Matches($@"pid {instance.Process.Pid}  code \S+ schema 100  serving\s+heartbeat \d+\.\ds ago", status.Output);

        var dryRun = await MyChipsProcess.RunAsync(["migrate", "--dry-run", "--db", connectionString], environment);
        Assert.Equal(0, dryRun.ExitCode);
        Assert.Contains("0101_upgrade_note.sql  expand", dryRun.Output);
        Assert.Contains("0102_upgrade_amount_mc.sql  contract", dryRun.Output);
        Assert.Equal(100, await database.VersionAsync());

        var id = await database.ScalarAsync<Guid>("SELECT id FROM mychips_meta.instances WHERE pid = @pid", new { pid = instance.Process.Pid });
        var drain = await MyChipsProcess.RunAsync(["upgrade", "drain", "--instance", id.ToString(), "--wait", "--db", connectionString]);
        Assert.Equal(0, drain.ExitCode);
        Assert.Contains("Asked 1 instance(s) to drain", drain.Output);
        Assert.Equal(0, await instance.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Drain requested (drain requested by the operator", instance.Process.Output);
        var after = await MyChipsProcess.RunAsync(["upgrade", "status", "--all", "--db", connectionString], environment);
        Assert.Matches($@"pid {instance.Process.Pid}  code \S+ schema 100  stopped", after.Output);
    }

    public void Dispose() => _fixtures.Dispose();
}
