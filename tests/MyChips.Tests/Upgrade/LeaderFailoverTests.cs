using System.Net;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Upgrade;

/// <summary>DESIGN.md 4.3: a leader that dies mid-migration leaves nothing behind, and another instance finishes.</summary>
[Collection(UpgradeCollection.Name)]
public sealed class LeaderFailoverTests(PostgresServer server) : IDisposable
{
    private readonly MigrationFixtures _fixtures = new();

    [Fact]
    public async Task A_leader_killed_mid_migration_leaves_the_database_unchanged_and_another_instance_finishes_it()
    {
        var connectionString = await server.CreateDatabaseAsync("failover");
        var migrations = UpgradeMigrations.WithSlow(_fixtures);
        var database = new UpgradeDatabase(connectionString);
        var migrate = await MyChipsProcess.RunAsync(["migrate", "--db", connectionString], new Dictionary<string, string>
        {
            ["MYCHIPS__Schema__MigrationsDirectory"] = migrations,
            ["MYCHIPS__Schema__CodeSchemaVersion"] = "100",
        });
        Assert.Equal(0, migrate.ExitCode);
        await UpgradeMigrations.CloseGateAsync(database);

        await using var first = SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Slow, UpgradeMigrations.OldProbeSql);
        var sleeper = 0;
        await Wait.UntilAsync(async () =>
        {
            sleeper = await database.ScalarAsync<int>(
                "SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%upgrade_gate%' AND pid <> pg_backend_pid()");
            return sleeper != 0;
        }, TimeSpan.FromSeconds(60), "the first instance is in the middle of migration 0101");
        var firstEpoch = await database.ScalarAsync<long>("SELECT epoch FROM mychips_meta.schema_state");
        Assert.Equal("migrating", await database.ScalarAsync<string>("SELECT phase FROM mychips_meta.schema_state"));

        await using var second = SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Slow, UpgradeMigrations.OldProbeSql);
        await second.WaitForStateAsync("holding", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(40) };
        var heldRequest = http.PostAsync($"{second.Url}/diagnostics/probe?key=held&amount=42", null);

        first.Process.KillHard();
        await Wait.UntilAsync(async () => await database.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE pid = @sleeper", new { sleeper }) == 0,
            TimeSpan.FromSeconds(10), "the dead leader's backend is gone");

        // Its transaction rolled back: nothing of migration 0101 is visible (the successor's work is not committed yet).
        Assert.Equal(100, await database.VersionAsync());
        Assert.Equal(0, await database.ScalarAsync<long>("SELECT count(*) FROM mychips_meta.migrations WHERE number = 101"));
        Assert.False(await database.ScalarAsync<bool>("SELECT to_regclass('public.upgrade_slow') IS NOT NULL"));

        await UpgradeMigrations.OpenGateAsync(database);
        await second.WaitForStateAsync("serving", TimeSpan.FromSeconds(60));
        Assert.Equal(101, await database.VersionAsync());
        Assert.Contains($"pid {second.Process.Pid})",
            await database.ScalarAsync<string>("SELECT applied_by FROM mychips_meta.migrations WHERE number = 101"));
        Assert.True(await database.ScalarAsync<long>("SELECT epoch FROM mychips_meta.schema_state") > firstEpoch);
        Assert.Equal("stable", await database.ScalarAsync<string>("SELECT phase FROM mychips_meta.schema_state"));
        Assert.Equal(1000, await database.ScalarAsync<long>("SELECT count(*) FROM public.upgrade_slow"));

        // The request held during the takeover was served afterwards.
        using var response = await heldRequest;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(long.Parse(response.Headers.GetValues("X-MyChips-Held-Ms").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal(42, await database.ScalarAsync<long>("SELECT amount FROM public.upgrade_probe WHERE key = 'held'"));
    }

    public void Dispose() => _fixtures.Dispose();
}
