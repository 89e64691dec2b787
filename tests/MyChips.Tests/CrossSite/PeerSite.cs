using System.Net.Http.Json;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
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

    /// <summary>Adds a user, issues a ticket and logs in with a fresh P-256 key.</summary>
    public async Task<ApiUser> AddUserAsync(string cuid)
    {
        await App.Services.GetRequiredService<Users>().AddAsync(cuid + " Example", cuid, CancellationToken.None);
        var ticket = await App.Services.GetRequiredService<Tickets>().IssueAsync(cuid, null, CancellationToken.None);
        var key = UserSigningKey.Generate(UserKeyCurve.P256);
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

    /// <summary>The local half of a tally as stored: state, balance and chain position.</summary>
    public async Task<HalfRow?> HalfAsync(Guid tally)
    {
        await using var connection = await OpenAsync();
        return await connection.QuerySingleOrDefaultAsync<HalfRow>(
            """
            SELECT tally_type AS Type, status AS Status, net AS Net, chain_last AS ChainLast, chain_conf AS ChainConf, chain_hash AS ChainHash,
                   (SELECT count(*) FROM mychips.chits c WHERE c.tally_id = t.tally_id AND c.status = 'good') AS Good,
                   (SELECT count(*) FROM mychips.chits c WHERE c.tally_id = t.tally_id AND c.status = 'good' AND c.chain_idx IS NULL) AS Unlinked
            FROM mychips.tallies t WHERE tally_uuid = @tally
            """, new { tally });
    }

    /// <summary>The chain as stored, index → (chit, block hash).</summary>
    public async Task<List<(int Index, Guid Chit, byte[] Hash)>> ChainAsync(Guid tally)
    {
        await using var connection = await OpenAsync();
        return (await connection.QueryAsync<(int, Guid, byte[])>(
            """
            SELECT c.chain_idx, c.chit_uuid, c.chain_dgst FROM mychips.chits c JOIN mychips.tallies t USING (tally_id)
            WHERE t.tally_uuid = @tally AND c.chain_idx IS NOT NULL ORDER BY c.chain_idx
            """, new { tally })).ToList();
    }

    public async Task<ChainVerification> VerifyChainAsync(Guid tally, string type)
    {
        await using var connection = await OpenAsync();
        return await HashChain.VerifyAsync(connection, tally, type, CancellationToken.None);
    }

    /// <summary>Everything a peer message could change, summarised: equal before and after means nothing was written.</summary>
    public async Task<string> SnapshotAsync()
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteScalarAsync<string>(
            """
            SELECT concat_ws(' | ',
                (SELECT count(*) FROM mychips.tallies), (SELECT count(*) FROM mychips.chits), (SELECT count(*) FROM mychips.outbox),
                (SELECT count(*) FROM mychips.received_messages), (SELECT count(*) FROM mychips.user_events), (SELECT count(*) FROM mychips.agents),
                (SELECT md5(coalesce(string_agg(concat_ws(',', tally_uuid, tally_type, status, net, net_pending, chain_last, chain_conf, encode(chain_hash, 'hex'), part_agent), ';' ORDER BY tally_id), '')) FROM mychips.tallies),
                (SELECT md5(coalesce(string_agg(concat_ws(',', chit_uuid, status, units, chain_idx, encode(chain_dgst, 'hex')), ';' ORDER BY chit_id), '')) FROM mychips.chits))
            """) ?? "";
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    public sealed record HalfRow(string Type, string Status, long Net, int ChainLast, int? ChainConf, byte[]? ChainHash, long Good, long Unlinked);
}
