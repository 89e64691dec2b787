using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Peer.Transport;
using MyChips.Server.Hosting;
using MyChips.Tests.CrossSite;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Api;

/// <summary>
/// SSRF guard: a CHAD names any host, so by default the site refuses to dial loopback, private, link-local, multicast
/// and unspecified addresses, in the API (400 <c>address_not_allowed</c>, nothing written, nothing dialled) and in the
/// dialer (the outbox row is given up, not dialled). <c>Peer:AllowedNetworks</c> opens ranges, <c>Peer:DeniedNetworks</c>
/// closes more. Only loopback is ever actually dialled here.
/// </summary>
[Collection(UserApiCollection.Name)]
public sealed class PeerAddressTests(PostgresServer server)
{
    private static readonly Dictionary<string, string?> DefaultPolicy = new() { ["Peer:AllowedNetworks"] = "", ["RateLimit:RedeemPerMinute"] = "1000" };

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("172.16.5.4", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("::1", false)]
    [InlineData("::", false)]
    [InlineData("fd00::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("ff02::1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("93.184.216.34", true)]
    [InlineData("2606:2800:220:1::1", true)]
    public void By_default_only_public_addresses_may_be_dialled(string address, bool allowed) =>
        Assert.Equal(allowed, new PeerAddressPolicy([], []).IsAllowed(IPAddress.Parse(address)));

    [Fact]
    public void Allowed_networks_open_ranges_and_denied_networks_close_more_and_win()
    {
        var policy = new PeerAddressPolicy([IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("93.184.216.0/24")], [IPNetwork.Parse("127.0.0.2/32"), IPNetwork.Parse("93.184.0.0/16")]);

        Assert.True(policy.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(policy.IsAllowed(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("127.0.0.2")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("10.0.0.1")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("93.184.216.34"))); // denied wins
        Assert.True(policy.IsAllowed(IPAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public async Task Redeem_naming_a_loopback_private_link_local_multicast_or_unspecified_host_is_400_address_not_allowed_and_writes_nothing()
    {
        await using var site = await ApiSite.StartAsync(server, "ssrfapi", DefaultPolicy);
        using var dana = await site.AddUserAsync("dana");
        using var foreign = AgentKey.Generate();
        var database = new SiteDatabase(site.ConnectionString);
        var before = await database.SnapshotAsync();

        foreach (var host in new[] { "127.0.0.1", "localhost", "10.0.0.1", "192.168.0.10", "169.254.169.254", "224.0.0.1", "0.0.0.0", "::1", "[::1]", "fd12::1" })
        {
            var chad = new JsonObject { ["cuid"] = "fay", ["agent"] = foreign.Id, ["host"] = host, ["port"] = 65430 };
            var (status, body) = await dana.SendAsync(HttpMethod.Post, "/api/invitations/redeem", new JsonObject { ["token"] = "t", ["chad"] = chad }.ToJsonString());

            Assert.True(status == HttpStatusCode.BadRequest, $"{host}: {(int)status} {body.ToJsonString()}");
            Assert.Equal("address_not_allowed", (string)body["error"]!["code"]!);
        }

        Assert.Equal(before, await database.SnapshotAsync());
        await using var connection = await site.OpenAsync();
        Assert.Equal(0L, (long)(await new NpgsqlCommand("SELECT count(*) FROM mychips.outbox", connection).ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Redeem_naming_loopback_is_queued_when_127_0_0_0_8_is_allowed_unless_denied()
    {
        await using var site = await ApiSite.StartAsync(server, "ssrfallow", new Dictionary<string, string?>
        {
            ["Peer:AllowedNetworks:0"] = "127.0.0.0/8",
            ["Peer:DeniedNetworks:0"] = "127.0.0.2/32",
            ["Peer:Enabled"] = "false", // queued only: nothing is dialled
        });
        using var dana = await site.AddUserAsync("dana");
        using var foreign = AgentKey.Generate();

        var (denied, deniedBody) = await dana.SendAsync(HttpMethod.Post, "/api/invitations/redeem",
            new JsonObject { ["token"] = "t", ["chad"] = new JsonObject { ["cuid"] = "fay", ["agent"] = foreign.Id, ["host"] = "127.0.0.2", ["port"] = 9 } }.ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, denied);
        Assert.Equal("address_not_allowed", (string)deniedBody["error"]!["code"]!);

        var queued = await dana.OkAsync(HttpMethod.Post, "/api/invitations/redeem",
            new JsonObject { ["token"] = "t", ["chad"] = new JsonObject { ["cuid"] = "fay", ["agent"] = foreign.Id, ["host"] = "127.0.0.1", ["port"] = 9 } }.ToJsonString());
        Assert.Equal("queued", (string)queued["delivered"]!);
    }

    [Fact]
    public async Task An_outbox_row_for_a_loopback_host_is_given_up_without_a_dial_unless_loopback_is_allowed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        // Default policy: the row (as a peer message or an older version could have queued it) is never dialled.
        await using (var site = await ApiSite.StartAsync(server, "ssrfout", DefaultPolicy))
        {
            using var dana = await site.AddUserAsync("dana");
            using var foreign = AgentKey.Generate();
            await QueueAsync(site, foreign.Id, port);

            await Wait.UntilAsync(async () => await ScalarAsync(site, "SELECT count(*) FROM mychips.outbox WHERE gave_up_at IS NOT NULL AND settled_by = 'gave_up'") == 1,
                TimeSpan.FromSeconds(30), "the row is given up");
            await using var connection = await site.OpenAsync();
            var error = (string)(await new NpgsqlCommand("SELECT last_error FROM mychips.outbox", connection).ExecuteScalarAsync())!;
            Assert.Contains("Peer:AllowedNetworks", error, StringComparison.Ordinal);
            Assert.Equal(1L, await ScalarAsync(site, "SELECT count(*) FROM mychips.user_events WHERE events::text LIKE '%delivery_failed%'"));
            Assert.False(listener.Pending());
        }

        // With 127.0.0.0/8 allowed the same kind of row is dialled.
        await using (var site = await ApiSite.StartAsync(server, "ssrfoutok", new Dictionary<string, string?> { ["Peer:AllowedNetworks"] = "127.0.0.0/8" }))
        {
            using var dana = await site.AddUserAsync("dana");
            using var foreign = AgentKey.Generate();
            await QueueAsync(site, foreign.Id, port);

            await Wait.UntilAsync(() => listener.Pending(), TimeSpan.FromSeconds(30), "the site dials the allowed loopback host");
        }
    }

    [Theory]
    [InlineData("Peer:AllowedNetworks:0", "127.0.0.0/33")]
    [InlineData("Peer:DeniedNetworks", "10.0.0.0/8,not-a-network")]
    public void A_network_that_is_not_CIDR_is_a_configuration_error_naming_the_key(string key, string value)
    {
        var flags = new Dictionary<string, string?> { ["Web:Url"] = "http://127.0.0.1:0", ["Peer:Endpoint"] = "127.0.0.1:0", [key] = value };

        var error = Assert.Throws<ConfigurationException>(() => SiteHost.CreateBuilder(flags, "Host=127.0.0.1"));

        Assert.Contains(string.Join(':', key.Split(':').Take(2)), error.Message, StringComparison.Ordinal);
    }

    // A ticket for another site, as MessageRouter queues it, from dana.
    private static async Task QueueAsync(ApiSite site, string agent, int port)
    {
        await using var connection = await site.OpenAsync();
        var local = (string)(await new NpgsqlCommand("SELECT agent FROM mychips.agents WHERE is_local", connection).ExecuteScalarAsync())!;
        var message = new JsonObject
        {
            ["target"] = "tally", ["action"] = "ticket",
            ["to"] = new JsonObject { ["cuid"] = "fay", ["agent"] = agent, ["host"] = "127.0.0.1", ["port"] = port },
            ["from"] = new JsonObject { ["cuid"] = "dana", ["agent"] = local },
            ["ticket"] = new JsonObject { ["token"] = "t" },
        };
        await using var insert = new NpgsqlCommand("""
            INSERT INTO mychips.agents (agent, host, port) VALUES ($1, '127.0.0.1', $2);
            INSERT INTO mychips.outbox (peer_agent, message, idempotency_key) VALUES ($1, $3::jsonb, $4);
            NOTIFY mychips_outbox;
            """.Replace("$1", $"'{agent}'", StringComparison.Ordinal).Replace("$2", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("$3", $"'{message.ToJsonString()}'", StringComparison.Ordinal).Replace("$4", $"'{Guid.NewGuid():N}'", StringComparison.Ordinal), connection);
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(ApiSite site, string sql)
    {
        await using var connection = await site.OpenAsync();
        return (long)(await new NpgsqlCommand(sql, connection).ExecuteScalarAsync())!;
    }
}
