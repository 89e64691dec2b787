using MyChips.Server.Hosting;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Hosting;

/// <summary>The bounds of a site (pool size against the server, socket caps) are checked at start, naming the key.</summary>
[Collection(HostingCollection.Name)]
public sealed class SiteLimitsConfigTests(PostgresServer server)
{
    [Fact]
    public async Task A_pool_maximum_that_leaves_the_server_no_headroom_stops_the_start_as_a_configuration_error()
    {
        // The test cluster allows 400 connections, 3 reserved for superusers: 397 usable, 358 for one pool.
        var connectionString = await server.CreateDatabaseAsync("pool") + ";Maximum Pool Size=390";

        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--db", connectionString, "--web", $"http://127.0.0.1:{FreePort.Next()}"],
            new Dictionary<string, string> { ["MYCHIPS__Peer__Endpoint"] = "127.0.0.1:0" }, TimeSpan.FromSeconds(45));

        Assert.Equal(2, exitCode);
        Assert.Contains("mychips: error [config_invalid]: Database:ConnectionString: Maximum Pool Size 390", output);
        Assert.Contains("at most 358", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("MYCHIPS__Web__MaxSocketsPerUser", "0", "Web:MaxSocketsPerUser")]
    [InlineData("MYCHIPS__Web__MaxSockets", "-1", "Web:MaxSockets")]
    [InlineData("MYCHIPS__Web__MaxSockets", "lots", "Web:MaxSockets")]
    public async Task A_bad_socket_cap_stops_the_start_naming_the_key(string variable, string value, string key)
    {
        var connectionString = await server.CreateDatabaseAsync("caps");

        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--db", connectionString, "--web", $"http://127.0.0.1:{FreePort.Next()}"],
            new Dictionary<string, string> { [variable] = value, ["MYCHIPS__Peer__Endpoint"] = "127.0.0.1:0" }, TimeSpan.FromSeconds(45));

        Assert.Equal(2, exitCode);
        Assert.Contains("mychips: error [config_invalid]", output);
        Assert.Contains(key, output);
    }

    [Theory]
    [InlineData(97, 88)] // PostgreSQL's default max_connections 100, 3 reserved
    [InlineData(397, 358)]
    [InlineData(20, 15)]
    [InlineData(5, 0)]
    public void The_pool_budget_keeps_a_tenth_and_at_least_five_connections_for_operators(int available, int budget) =>
        Assert.Equal(budget, DatabasePoolSizing.Budget(available));
}
