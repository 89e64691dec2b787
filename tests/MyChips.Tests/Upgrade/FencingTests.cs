using System.Net;
using MyChips.Data.Schema;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Upgrade;

/// <summary>DESIGN.md 4.4: code older than the database's <c>min_code_version</c> never writes, and says why.</summary>
[Collection(UpgradeCollection.Name)]
public sealed class FencingTests(PostgresServer server) : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly MigrationFixtures _fixtures = new();

    [Fact]
    public async Task An_old_instance_started_after_a_contract_upgrade_is_fenced_with_a_clear_message()
    {
        var connectionString = await server.CreateDatabaseAsync("fence");
        var migrations = UpgradeMigrations.Standard(_fixtures);
        var migrate = await MyChipsProcess.RunAsync(["migrate", "--db", connectionString], new Dictionary<string, string>
        {
            ["MYCHIPS__Schema__MigrationsDirectory"] = migrations,
        });
        Assert.Equal(0, migrate.ExitCode);

        // FencedBehaviour=wait: it stays up and answers 503 with the reason.
        await using var waiting = SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Note, UpgradeMigrations.OldProbeSql,
            new Dictionary<string, string> { ["MYCHIPS__Upgrade__FencedBehaviour"] = "wait" });
        await waiting.WaitForStateAsync("fenced", TimeSpan.FromSeconds(60));
        var readiness = await waiting.ReadinessAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness!.Value.Status);
        Assert.Contains("code_too_old", readiness.Value.Reason);
        Assert.Contains("needs code for schema version 102 or newer; this code is built for schema version 101", readiness.Value.Reason);
        using var probe = await Http.PostAsync($"{waiting.Url}/diagnostics/probe?key=late&amount=1", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, probe.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), probe.Headers.RetryAfter?.Delta);
        Assert.Contains("fenced", await probe.Content.ReadAsStringAsync());
        Assert.Contains("Upgrade:FencedBehaviour=wait", waiting.Process.Output);
        var database = new UpgradeDatabase(connectionString);
        await Wait.UntilAsync(async () => await database.InstanceStateAsync(waiting.Process.Pid) == "fenced",
            TimeSpan.FromSeconds(10), "the registry shows the instance fenced");
        Assert.Equal(0, await database.ScalarAsync<long>("SELECT count(*) FROM public.upgrade_probe"));

        // FencedBehaviour=exit (the default): it exits non-zero, saying why.
        await using var exiting = SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Note, UpgradeMigrations.OldProbeSql);
        Assert.Equal(3, await exiting.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("This instance is fenced and exits (Upgrade:FencedBehaviour=exit): code_too_old", exiting.Process.Output);
        Assert.Contains("Run a newer mychips", exiting.Process.Output);
    }

    [Fact]
    public async Task Old_code_racing_a_contract_migration_has_its_transaction_refused_and_fences_itself()
    {
        var connectionString = await server.CreateDatabaseAsync("race");
        var migrations = UpgradeMigrations.Standard(_fixtures);
        await using var old = SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Note, UpgradeMigrations.OldProbeSql,
            new Dictionary<string, string> { ["MYCHIPS__Upgrade__FencedBehaviour"] = "wait" });
        await old.WaitForStateAsync("serving", TimeSpan.FromSeconds(60));
        using (var before = await Http.PostAsync($"{old.Url}/diagnostics/probe?key=before&amount=5", null))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // A contract migration applied behind the old instance's back (no drain): only the fence stands in the way.
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            var migrator = new SchemaMigrator(dataSource, MigrationSet.FromDirectory(migrations), new SchemaOptions(),
                Microsoft.Extensions.Logging.Abstractions.NullLogger<SchemaMigrator>.Instance);
            await migrator.MigrateAsync("test", Guid.NewGuid(), beforeContract: null, CancellationToken.None);
        }

        using var after = await Http.PostAsync($"{old.Url}/diagnostics/probe?key=after&amount=7", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, after.StatusCode);
        Assert.Contains("instance_fenced", await after.Content.ReadAsStringAsync());
        var readiness = await old.ReadinessAsync();
        Assert.Equal("fenced", readiness!.Value.State);
        Assert.Contains("instance_fenced", readiness.Value.Reason);
        Assert.Contains("min_code_version 102", readiness.Value.Reason);
        Assert.Contains("This instance is fenced", old.Process.Output);
        var database = new UpgradeDatabase(connectionString);
        Assert.Equal(["before"], await database.QueryAsync<string>("SELECT key FROM public.upgrade_probe"));
        Assert.Equal(5, await database.ScalarAsync<long>("SELECT sum(amount_mc) FROM public.upgrade_probe"));
    }

    public void Dispose() => _fixtures.Dispose();
}
