using System.Text.Json.Nodes;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Server.Hosting;
using MyChips.Server.Peer;
using MyChips.Tests.Api;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.CrossSite;

/// <summary>
/// One site of a cross-site test: a real host (Kestrel web + peer listener on loopback) over its own database, that can
/// be stopped and started again on the same database and ports. Short retry timings keep the tests fast.
/// </summary>
public sealed class PeerSite : IAsyncDisposable
{
    private WebApplication? _app;

    private readonly IReadOnlyDictionary<string, string?> _settings;

    private PeerSite(string name, string connectionString, IReadOnlyDictionary<string, string?>? settings)
    {
        Name = name;
        ConnectionString = connectionString;
        _settings = settings ?? new Dictionary<string, string?>();
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public int WebPort { get; private set; }

    public int PeerPort { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{WebPort}");

    public WebApplication App => _app ?? throw new InvalidOperationException($"Site {Name} is stopped.");

    public PeerRefusals Refusals => App.Services.GetRequiredService<PeerRefusals>();

    public static async Task<PeerSite> StartAsync(PostgresServer server, string name, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var site = new PeerSite(name, await server.CreateDatabaseAsync(name), settings);
        await site.StartAsync();
        return site;
    }

    /// <summary>Starts the host; after the first start it binds the same web and peer ports again.</summary>
    public async Task StartAsync()
    {
        var flags = new Dictionary<string, string?>
        {
            ["Web:Url"] = $"http://127.0.0.1:{WebPort}",
            ["Peer:Endpoint"] = $"127.0.0.1:{PeerPort}",
            ["Peer:AllowedNetworks:0"] = "127.0.0.0/8", // the partner site is on this machine's loopback
            ["Peer:ReceiptTimeout"] = "00:00:03",
            ["Peer:MaxRetryWait"] = "00:00:02",
            ["Peer:PollInterval"] = "00:00:00.500",
            ["Peer:BackoffMin"] = "00:00:00.100",
            ["Peer:BackoffMax"] = "00:00:00.500",
            ["Peer:ConnectTimeout"] = "00:00:03",
            ["Serilog:MinimumLevel:Override:Serilog.AspNetCore.RequestLoggingMiddleware"] = "Warning",
        };
        foreach (var (key, value) in _settings)
            flags[key] = value;
        var app = SiteHost.Build(SiteHost.CreateBuilder(flags, ConnectionString));
        await app.StartAsync();
        _app = app;
        WebPort = new Uri(app.BoundAddresses().First()).Port;
        PeerPort = app.Services.GetRequiredService<PeerListenerBinding>().EndPoint.Port;
        using var http = new HttpClient { BaseAddress = BaseAddress };
        await Wait.UntilAsync(async () => (await http.GetAsync("/readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), $"site {Name} is ready");
        await Wait.UntilAsync(() => App.Services.GetRequiredService<SitePeerTransport>().Current is not null, TimeSpan.FromSeconds(30), $"site {Name} has its peer transport");
    }

    /// <summary>Stops the host as an operator would (the database keeps everything).</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Adds a user, issues a ticket and logs in with a fresh key (P-256 unless told).</summary>
    public async Task<ApiUser> AddUserAsync(string cuid, UserKeyCurve curve = UserKeyCurve.P256)
    {
        await App.Services.GetRequiredService<Users>().AddAsync(cuid + " Example", cuid, CancellationToken.None);
        var ticket = await App.Services.GetRequiredService<Tickets>().IssueAsync(cuid, null, CancellationToken.None);
        var key = UserSigningKey.Generate(curve);
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var response = await http.PostAsJsonAsync("/api/login/ticket", new { user = cuid, token = ticket.Token, publicKey = key.ExportPublicJwk() });
        var body = await ApiUser.ReadAsync(response);
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        var user = new ApiUser(cuid, key, http);
        user.UseToken((string)body["token"]!);
        return user;
    }

    public SiteDatabase Database => new(ConnectionString);

    public Task<NpgsqlConnection> OpenAsync() => Database.OpenAsync();

    public Task<SiteDatabase.HalfRow?> HalfAsync(Guid tally) => Database.HalfAsync(tally);

    public Task<List<(int Index, Guid Chit, byte[] Hash)>> ChainAsync(Guid tally) => Database.ChainAsync(tally);

    public Task<ChainVerification> VerifyChainAsync(Guid tally, string type) => Database.VerifyChainAsync(tally, type);

    public Task<string> SnapshotAsync() => Database.SnapshotAsync();

    /// <summary>Hands <paramref name="message"/> to the site's peer sink as the transport would, from <paramref name="sender"/> over Noise.</summary>
    public async Task<PeerDelivery> DeliverAsync(string sender, JsonObject message) =>
        await App.Services.GetRequiredService<IPeerMessageSink>().DeliverAsync(new PeerInboundMessage(sender, message, PeerTransportMode.Noise, null), CancellationToken.None);

    /// <summary>The site refuses <paramref name="message"/> from <paramref name="sender"/> and logs one refusal naming <paramref name="reason"/>.</summary>
    public async Task AssertRefusedAsync(string sender, JsonObject message, string reason)
    {
        var refused = Refusals.Count;
        Assert.Equal(PeerDelivery.Rejected, await DeliverAsync(sender, message));
        Assert.Equal(refused + 1, Refusals.Count);
        Assert.Contains(reason, Refusals.Recent[^1].Reason);
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
