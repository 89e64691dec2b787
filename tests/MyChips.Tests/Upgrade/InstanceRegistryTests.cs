using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Upgrade;

/// <summary>Short registry tests on their own cluster, beside the long upgrade collection.</summary>
[CollectionDefinition(Name)]
public sealed class RegistryCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "registry";
}

/// <summary>The rows of <c>mychips_meta.instances</c>: pruned after <c>Upgrade:InstanceRetention</c>, listed by status.</summary>
[Collection(RegistryCollection.Name)]
public sealed class InstanceRegistryTests(PostgresServer server) : IDisposable
{
    private const string InsertRow = """
        INSERT INTO mychips_meta.instances (id, host, pid, code_version, code_schema_version, state, reason, started_at, heartbeat_at)
        VALUES (@id, 'elsewhere', 4242, 'test', 100, @state, 'set up by the test', now() - @age::interval, now() - @age::interval)
        """;

    private readonly MigrationFixtures _fixtures = new();

    [Fact]
    public async Task A_serving_instance_prunes_rows_stopped_or_expired_longer_than_the_retention_and_keeps_recent_ones()
    {
        var connectionString = await server.CreateDatabaseAsync("prune");
        var database = new UpgradeDatabase(connectionString);
        await using var instance = SiteInstance.Start(connectionString, UpgradeMigrations.Standard(_fixtures), UpgradeMigrations.Probe,
            UpgradeMigrations.OldProbeSql, new Dictionary<string, string> { ["MYCHIPS__Upgrade__InstanceRetention"] = "01:00:00" });
        await instance.WaitForStateAsync("serving", TimeSpan.FromSeconds(60));
        var oldStopped = Guid.NewGuid();
        var oldExpired = Guid.NewGuid();
        var recentStopped = Guid.NewGuid();
        await database.ScalarAsync<int>(InsertRow, new { id = oldStopped, state = "stopped", age = "2 hours" });
        await database.ScalarAsync<int>(InsertRow, new { id = oldExpired, state = "serving", age = "2 hours" });
        await database.ScalarAsync<int>(InsertRow, new { id = recentStopped, state = "stopped", age = "10 minutes" });

        await Wait.UntilAsync(async () => await database.ScalarAsync<long>(
                "SELECT count(*) FROM mychips_meta.instances WHERE id = ANY(@ids)", new { ids = new[] { oldStopped, oldExpired } }) == 0,
            TimeSpan.FromSeconds(30), "the rows older than the retention are gone");

        Assert.Equal("stopped", await database.ScalarAsync<string>("SELECT state FROM mychips_meta.instances WHERE id = @recentStopped", new { recentStopped }));
        Assert.Equal("serving", await database.InstanceStateAsync(instance.Process.Pid));
        Assert.Contains("Pruned ", instance.Process.Output);
    }

    [Fact]
    public async Task Upgrade_status_lists_the_instances_not_stopped_and_all_of_them_with_all()
    {
        var connectionString = await server.CreateDatabaseAsync("status_all");
        var environment = new Dictionary<string, string> { ["MYCHIPS__Schema__MigrationsDirectory"] = UpgradeMigrations.Standard(_fixtures) };
        var migrate = await MyChipsProcess.RunAsync(["migrate", "--db", connectionString], environment);
        Assert.Equal(0, migrate.ExitCode);
        var database = new UpgradeDatabase(connectionString);
        var serving = Guid.NewGuid();
        var stopped = Guid.NewGuid();
        await database.ScalarAsync<int>(InsertRow, new { id = serving, state = "serving", age = "0 seconds" });
        await database.ScalarAsync<int>(InsertRow, new { id = stopped, state = "stopped", age = "5 minutes" });

        var live = await MyChipsProcess.RunAsync(["upgrade", "status", "--db", connectionString], environment);
        var every = await MyChipsProcess.RunAsync(["upgrade", "status", "--all", "--db", connectionString], environment);
        var liveJson = await MyChipsProcess.RunAsync(["upgrade", "status", "--json", "--db", connectionString], environment);

        Assert.Equal(0, live.ExitCode);
        Assert.Contains(serving.ToString(), live.Output);
        Assert.DoesNotContain(stopped.ToString(), live.Output);
        Assert.Contains("(1 stopped instance(s) not shown; --all lists them)", live.Output);
        Assert.Equal(0, every.ExitCode);
        Assert.Contains(serving.ToString(), every.Output);
        Assert.Contains(stopped.ToString(), every.Output);
        Assert.DoesNotContain("not shown", every.Output);
        Assert.Contains(serving.ToString(), liveJson.Output);
        Assert.DoesNotContain(stopped.ToString(), liveJson.Output);
    }

    [Fact]
    public async Task A_migrating_phase_left_by_a_dead_leader_is_repaired_by_a_starting_and_by_a_serving_instance()
    {
        var connectionString = await server.CreateDatabaseAsync("repair");
        var migrations = UpgradeMigrations.Standard(_fixtures);
        var environment = new Dictionary<string, string>
        {
            ["MYCHIPS__Schema__MigrationsDirectory"] = migrations,
            ["MYCHIPS__Schema__CodeSchemaVersion"] = UpgradeMigrations.Probe.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        Assert.Equal(0, (await MyChipsProcess.RunAsync(["migrate", "--db", connectionString], environment)).ExitCode);
        var database = new UpgradeDatabase(connectionString);

        // An upgrade abandoned mid-way: its leader (code 102) was killed, the version row still says migrating.
        await AbandonUpgradeAsync(database);
        await using var instance = SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Probe, UpgradeMigrations.OldProbeSql);
        await instance.WaitForStateAsync("serving", TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(async () => await database.ScalarAsync<string>("SELECT phase FROM mychips_meta.schema_state") == "stable",
            TimeSpan.FromSeconds(30), "the starting instance repaired the phase");
        var status = await MyChipsProcess.RunAsync(["upgrade", "status", "--db", connectionString], environment);
        Assert.Contains("Database schema version: 100 (min code version 0), phase stable", status.Output);

        // Once more while it serves: its heartbeat pass repairs it.
        await AbandonUpgradeAsync(database);
        await Wait.UntilAsync(async () => await database.ScalarAsync<string>("SELECT phase FROM mychips_meta.schema_state") == "stable",
            TimeSpan.FromSeconds(30), "the serving instance repaired the phase");
        Assert.Equal(2, CountOccurrences(instance.Process.Output, "set back to stable"));
        Assert.Equal(UpgradeMigrations.Probe, await database.VersionAsync());
    }

    [Theory]
    [InlineData("00:00:10")]
    [InlineData("-1.00:00:00")]
    public async Task An_instance_retention_out_of_range_stops_the_start_as_a_configuration_error(string retention)
    {
        var connectionString = await server.CreateDatabaseAsync("retention");

        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--db", connectionString, "--web", $"http://127.0.0.1:{FreePort.Next()}"],
            new Dictionary<string, string> { ["MYCHIPS__Upgrade__InstanceRetention"] = retention }, TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains($"mychips: error [config_invalid]: Upgrade:InstanceRetention must be from 00:01:00 to 3650.00:00:00; got {retention}", output);
    }

    private static async Task AbandonUpgradeAsync(UpgradeDatabase database)
    {
        var leader = Guid.NewGuid();
        await database.ScalarAsync<int>(InsertRow, new { id = leader, state = "holding", age = "1 hour" });
        await database.ScalarAsync<int>("UPDATE mychips_meta.schema_state SET phase = 'migrating', leader = @leader, epoch = epoch + 1", new { leader });
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    public void Dispose() => _fixtures.Dispose();
}
