using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Server.Hosting;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Api;

/// <summary>A real site: Kestrel on 127.0.0.1 port 0 over a fresh database, with helpers to create logged-in users.</summary>
public sealed class ApiSite : IAsyncDisposable
{
    private ApiSite(WebApplication app, string connectionString, Uri baseAddress)
    {
        App = app;
        ConnectionString = connectionString;
        BaseAddress = baseAddress;
    }

    public WebApplication App { get; }

    public string ConnectionString { get; }

    public Uri BaseAddress { get; }

    public static async Task<ApiSite> StartAsync(PostgresServer server, string prefix, IReadOnlyDictionary<string, string?>? settings = null) =>
        await StartAsync(await server.CreateDatabaseAsync(prefix), settings);

    /// <summary>A site over an existing database (e.g. one the CLI prepared).</summary>
    public static async Task<ApiSite> StartAsync(string connectionString, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var flags = new Dictionary<string, string?> { ["Web:Url"] = "http://127.0.0.1:0", ["Peer:Endpoint"] = "127.0.0.1:0" };
        // Partners in tests are on loopback, which a site refuses to dial by default; a test of that refusal sets the key itself.
        if (settings?.Keys.Any(k => k.StartsWith("Peer:AllowedNetworks", StringComparison.Ordinal)) != true)
            flags["Peer:AllowedNetworks:0"] = "127.0.0.0/8";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            flags[key] = value;
        var app = SiteHost.Build(SiteHost.CreateBuilder(flags, connectionString));
        await app.StartAsync();
        var address = new Uri(app.BoundAddresses().First());
        using var http = new HttpClient { BaseAddress = address };
        await Wait.UntilAsync(async () => (await http.GetAsync("/readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the site is ready");
        return new ApiSite(app, connectionString, address);
    }

    /// <summary>Adds a user (as <c>mychips user add</c> does), issues a ticket and logs in with a fresh key of <paramref name="curve"/>.</summary>
    public async Task<ApiUser> AddUserAsync(string cuid, UserKeyCurve curve = UserKeyCurve.P256)
    {
        var users = App.Services.GetRequiredService<Users>();
        var tickets = App.Services.GetRequiredService<Tickets>();
        await users.AddAsync(cuid + " Example", cuid, CancellationToken.None);
        var ticket = await tickets.IssueAsync(cuid, null, CancellationToken.None);
        var key = UserSigningKey.Generate(curve);
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var response = await http.PostAsJsonAsync("/api/login/ticket", new { user = cuid, token = ticket.Token, publicKey = key.ExportPublicJwk() });
        var body = await ApiUser.ReadAsync(response);
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        var user = new ApiUser(cuid, key, http);
        user.UseToken((string)body["token"]!);
        return user;
    }

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Walks the chain of a half from the database, recomputing every hash.</summary>
    public async Task<ChainVerification> VerifyChainAsync(Guid tally, string type)
    {
        await using var connection = await OpenAsync();
        return await HashChain.VerifyAsync(connection, tally, type, CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
