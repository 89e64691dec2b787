using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data.Domain;
using MyChips.Server.Hosting;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Api;

/// <summary>
/// ASP.NET Core's rate limiter on the API: anonymous login challenges and ticket logins per client IP
/// (<c>RateLimit:LoginPerMinute</c>), invitation redeems per user (<c>RateLimit:RedeemPerMinute</c>). Over the limit:
/// 429 <c>rate_limited</c> with <c>Retry-After</c>, and the refused request writes nothing.
/// </summary>
[Collection(UserApiCollection.Name)]
public sealed class RateLimitTests(PostgresServer server)
{
    [Fact]
    public async Task Login_calls_past_the_per_IP_limit_get_429_rate_limited_with_Retry_After_and_write_nothing_while_another_IP_is_unaffected()
    {
        await using var site = await ApiSite.StartAsync(server, "ratelogin", new Dictionary<string, string?> { ["RateLimit:LoginPerMinute"] = "5" });
        // A user with a registered key (a challenge for anyone else writes no row), made without a ticket login.
        await site.App.Services.GetRequiredService<Users>().AddAsync("Adam Example", "adam", CancellationToken.None);
        await using (var connection = await site.OpenAsync())
            await new NpgsqlCommand("UPDATE mychips.users SET sign_pub = '{\"kty\":\"EC\"}' WHERE cuid = 'adam'", connection).ExecuteNonQueryAsync();
        using var first = ClientFrom(site, IPAddress.Loopback);

        for (var i = 0; i < 5; i++)
        {
            using var ok = await first.PostAsJsonAsync("/api/login/challenge", new { user = "adam" });
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // The sixth challenge and a ticket login from the same address share the limit; refused, they write nothing.
        var tokens = await TokenRowsAsync(site);
        foreach (var (path, body) in new (string, object)[] { ("/api/login/challenge", new { user = "adam" }), ("/api/login/ticket", new { user = "adam", token = "x", publicKey = new { kty = "EC" } }) })
        {
            using var refused = await first.PostAsJsonAsync(path, body);
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("rate_limited", (string)(await ApiUser.ReadAsync(refused))["error"]!["code"]!);
            var retryAfter = refused.Headers.RetryAfter?.Delta;
            Assert.True(retryAfter is { TotalSeconds: >= 1 and <= 60 }, $"Retry-After: {refused.Headers.RetryAfter}");
        }

        Assert.Equal(tokens, await TokenRowsAsync(site));

        // Another client address (127.0.0.2 is loopback too) has its own budget.
        using var second = ClientFrom(site, IPAddress.Parse("127.0.0.2"));
        using var other = await second.PostAsJsonAsync("/api/login/challenge", new { user = "adam" });
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task Redeems_past_the_per_user_limit_get_429_rate_limited_with_Retry_After_while_another_user_is_unaffected()
    {
        await using var site = await ApiSite.StartAsync(server, "rateredeem", new Dictionary<string, string?> { ["RateLimit:RedeemPerMinute"] = "3" });
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");
        using var carol = await site.AddUserAsync("carol");
        var draft = await adam.PostAsync("/api/tallies", new { type = "stock" });
        var tally = Guid.Parse((string)draft["uuid"]!);
        var invitation = await adam.PostAsync($"/api/tallies/{tally}/invite");

        // Guesses count too: that is what the limit is for.
        for (var i = 0; i < 3; i++)
        {
            var (status, body) = await bob.SendAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = $"guess{i}", chad = invitation["chad"] });
            Assert.True(status == HttpStatusCode.NotFound, body.ToJsonString());
        }

        using var refused = await bob.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/invitations/redeem")
        {
            Content = JsonContent.Create(new { token = (string)invitation["token"]!, chad = invitation["chad"] }),
            Headers = { Authorization = new("Bearer", bob.Token) },
        });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("rate_limited", (string)(await ApiUser.ReadAsync(refused))["error"]!["code"]!);
        Assert.True(refused.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 and <= 60 }, $"Retry-After: {refused.Headers.RetryAfter}");
        Assert.Equal("draft", (string)(await adam.GetAsync($"/api/tallies/{tally}"))["state"]!);

        var redeemed = await carol.OkAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"] });
        Assert.Equal("local", (string)redeemed["delivered"]!);
        Assert.Equal("P.draft", (string)(await adam.GetAsync($"/api/tallies/{tally}"))["state"]!);
    }

    [Theory]
    [InlineData("RateLimit:LoginPerMinute", "0")]
    [InlineData("RateLimit:RedeemPerMinute", "-1")]
    [InlineData("RateLimit:LoginPerMinute", "many")]
    public void A_rate_limit_that_cannot_work_is_a_configuration_error_naming_the_key(string key, string value)
    {
        var flags = new Dictionary<string, string?> { ["Web:Url"] = "http://127.0.0.1:0", ["Peer:Endpoint"] = "127.0.0.1:0", [key] = value };

        var error = Assert.Throws<ConfigurationException>(() => SiteHost.CreateBuilder(flags, "Host=127.0.0.1"));

        Assert.Contains(key.Split(':')[0], error.Message, StringComparison.Ordinal);
        if (value != "many")
            Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private static HttpClient ClientFrom(ApiSite site, IPAddress source) => new(new SocketsHttpHandler
    {
        // Loopback has a whole /8: binding the client to another of its addresses makes a second client IP.
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = site.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<long> TokenRowsAsync(ApiSite site)
    {
        await using var connection = await site.OpenAsync();
        return (long)(await new NpgsqlCommand("SELECT count(*) FROM mychips.tokens", connection).ExecuteScalarAsync())!;
    }
}
