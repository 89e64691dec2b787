using System.Net;
using System.Text.Json.Nodes;
using MyChips.Server.Hosting;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>What the operator configures for the web surface: the ticket URL the CLI prints, and CORS.</summary>
[Collection(UserApiCollection.Name)]
public sealed class WebSurfaceTests(PostgresServer server)
{
    [Fact]
    public async Task User_ticket_prints_a_url_on_the_configured_web_listener_and_Domain_PublicUrl_wins()
    {
        var connectionString = await server.CreateDatabaseAsync("ticketurl");
        var (code, output) = await MyChipsProcess.RunAsync(["user", "add", "--name", "Carla Cruz", "--cuid", "carla", "--db", connectionString]);
        Assert.True(code == 0, output);

        (code, output) = await MyChipsProcess.RunAsync(["user", "ticket", "carla", "--web", "http://127.0.0.1:18080", "--db", connectionString]);
        Assert.True(code == 0, output);
        Assert.StartsWith("http://127.0.0.1:18080/ticket?user=carla&token=", TicketUrl(output), StringComparison.Ordinal);

        (code, output) = await MyChipsProcess.RunAsync(["user", "ticket", "carla", "--db", connectionString],
            new Dictionary<string, string> { ["MYCHIPS__Web__Url"] = "http://127.0.0.1:18081" });
        Assert.True(code == 0, output);
        Assert.StartsWith("http://127.0.0.1:18081/ticket?user=carla&token=", TicketUrl(output), StringComparison.Ordinal);

        (code, output) = await MyChipsProcess.RunAsync(["user", "ticket", "carla", "--web", "http://127.0.0.1:18080", "--db", connectionString],
            new Dictionary<string, string> { ["MYCHIPS__Domain__PublicUrl"] = "https://chips.example.org/" });
        Assert.True(code == 0, output);
        Assert.StartsWith("https://chips.example.org/ticket?user=carla&token=", TicketUrl(output), StringComparison.Ordinal);

        (code, output) = await MyChipsProcess.RunAsync(["user", "ticket", "carla", "--db", connectionString],
            new Dictionary<string, string> { ["MYCHIPS__Domain__PublicUrl"] = "chips.example.org" });
        Assert.Equal(2, code);
        Assert.Contains("mychips: error [config_invalid]: Domain:PublicUrl", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cors_is_off_by_default_and_a_preflight_gets_allow_origin_only_for_a_configured_origin()
    {
        await using (var plain = await ApiSite.StartAsync(server, "corsoff"))
        {
            Assert.Null(await PreflightAsync(plain, "https://app.example.org"));
        }

        await using var site = await ApiSite.StartAsync(server, "corson", new Dictionary<string, string?>
        {
            ["Web:CorsOrigins:0"] = "https://app.example.org",
            ["Web:CorsOrigins:1"] = "http://127.0.0.1:3000",
        });
        Assert.Equal("https://app.example.org", await PreflightAsync(site, "https://app.example.org"));
        Assert.Equal("http://127.0.0.1:3000", await PreflightAsync(site, "http://127.0.0.1:3000"));
        Assert.Null(await PreflightAsync(site, "https://evil.example.org"));
    }

    [Theory]
    [InlineData("app.example.org")]
    [InlineData("https://app.example.org/path")]
    [InlineData("*")]
    public void A_malformed_cors_origin_is_a_configuration_error_naming_the_key(string origin)
    {
        var e = Assert.Throws<ConfigurationException>(() => SiteHost.CreateBuilder(
            new Dictionary<string, string?> { ["Web:Url"] = "http://127.0.0.1:0", ["Web:CorsOrigins:0"] = origin }, "Host=127.0.0.1;Port=1"));
        Assert.StartsWith("Web:CorsOrigins:0", e.Message, StringComparison.Ordinal);
    }

    private static string TicketUrl(string output) =>
        (string)JsonNode.Parse(output.Split('\n').First(l => l.StartsWith("{\"ticket\"", StringComparison.Ordinal)))!["ticket"]!["url"]!;

    /// <summary>A browser's preflight for an authenticated GET: the Access-Control-Allow-Origin it gets, or null.</summary>
    private static async Task<string?> PreflightAsync(ApiSite site, string origin)
    {
        using var http = new HttpClient { BaseAddress = site.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Options, "/api/me");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "authorization");
        using var response = await http.SendAsync(request);
        Assert.True((int)response.StatusCode < 500, $"preflight answered {(int)response.StatusCode}");
        return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
    }
}
