using System.Net;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Upgrade;

/// <summary>DESIGN.md 4.3: a hold longer than the hold timeout is answered 503 with Retry-After, and counted.</summary>
[Collection(UpgradeCollection.Name)]
public sealed class HoldTimeoutTests(PostgresServer server) : IDisposable
{
    private readonly MigrationFixtures _fixtures = new();

    [Fact]
    public async Task A_request_held_past_the_hold_timeout_gets_503_with_retry_after_and_is_counted()
    {
        var connectionString = await server.CreateDatabaseAsync("holdtimeout");
        var migrations = UpgradeMigrations.WithSlow(_fixtures);
        var migrate = await MyChipsProcess.RunAsync(["migrate", "--db", connectionString], new Dictionary<string, string>
        {
            ["MYCHIPS__Schema__MigrationsDirectory"] = migrations,
            ["MYCHIPS__Schema__CodeSchemaVersion"] = "100",
        });
        Assert.Equal(0, migrate.ExitCode);
        var database = new UpgradeDatabase(connectionString);
        await UpgradeMigrations.CloseGateAsync(database);

        // The leader holds its own requests while its migration waits at the gate; its hold timeout is 1 second.
        await using var instance = SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Slow, UpgradeMigrations.OldProbeSql,
            new Dictionary<string, string> { ["MYCHIPS__Upgrade__HoldTimeout"] = "00:00:01" });
        await instance.WaitForStateAsync("holding", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var response = await http.PostAsync($"{instance.Url}/diagnostics/probe?key=late&amount=1", null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("hold_timeout", body);
        Assert.Contains("upgrading schema 100 -> 101", body);
        var metrics = await http.GetStringAsync($"{instance.Url}/metrics");
        Assert.Contains("mychips_hold_rejected_total 1", metrics);
        Assert.Contains("mychips_instance_state{state=\"holding\"} 1", metrics);

        await UpgradeMigrations.OpenGateAsync(database);
        await instance.WaitForStateAsync("serving", TimeSpan.FromSeconds(60));
        using var served = await http.PostAsync($"{instance.Url}/diagnostics/probe?key=now&amount=1", null);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(["now"], await database.QueryAsync<string>("SELECT key FROM public.upgrade_probe"));
    }

    public void Dispose() => _fixtures.Dispose();
}
