using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Tests.Api;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.CrossSite;

/// <summary>
/// One site as a real <c>mychips serve</c> process with its peer listener on a fixed loopback port, so it can be killed
/// and started again where its partner expects it.
/// </summary>
public sealed class ProcessSite : IAsyncDisposable
{
    private readonly int _peerPort = FreePort.Next();
    private MyChipsProcess? _process;

    private ProcessSite(string connectionString)
    {
        Database = new SiteDatabase(connectionString);
    }

    public SiteDatabase Database { get; }

    public int WebPort { get; } = FreePort.Next();

    public Uri BaseAddress => new($"http://127.0.0.1:{WebPort}");

    public static async Task<ProcessSite> CreateAsync(PostgresServer server, string name) => new(await server.CreateDatabaseAsync(name));

    public async Task StartAsync()
    {
        _process = MyChipsProcess.Start(["serve", "--db", Database.ConnectionString, "--web", BaseAddress.ToString().TrimEnd('/')], new Dictionary<string, string>
        {
            ["MYCHIPS__Peer__Endpoint"] = $"127.0.0.1:{_peerPort}",
            ["MYCHIPS__Peer__AllowedNetworks"] = "127.0.0.0/8", // the partner site is on this machine's loopback
            ["MYCHIPS__Peer__ReceiptTimeout"] = "00:00:03",
            ["MYCHIPS__Peer__MaxRetryWait"] = "00:00:02",
            ["MYCHIPS__Peer__BackoffMin"] = "00:00:00.100",
            ["MYCHIPS__Peer__BackoffMax"] = "00:00:00.500",
        });
        using var http = new HttpClient { BaseAddress = BaseAddress };
        await Wait.UntilAsync(async () =>
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"mychips exited ({_process.ExitCode}):\n{_process.Output}");
            try
            {
                return (await http.GetAsync("/readyz")).IsSuccessStatusCode && _process.Output.Contains("Peer agent ", StringComparison.Ordinal);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), $"mychips on {BaseAddress} serves with its peer agent up");
    }

    /// <summary>SIGKILL: the process dies at once, whatever it was doing.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            process.KillHard();
            await process.DisposeAsync();
        }
    }

    /// <summary>Adds a user with the CLI, issues a ticket with the CLI, and logs in over HTTP with a fresh key.</summary>
    public async Task<ApiUser> AddUserAsync(string cuid)
    {
        var (code, output) = await MyChipsProcess.RunAsync(["user", "add", "--name", cuid + " Example", "--cuid", cuid, "--db", Database.ConnectionString]);
        Assert.True(code == 0, output);
        (code, output) = await MyChipsProcess.RunAsync(["user", "ticket", cuid, "--db", Database.ConnectionString]);
        Assert.True(code == 0, output);
        var token = (string)JsonNode.Parse(output.Split('\n').First(l => l.StartsWith("{\"ticket\"", StringComparison.Ordinal)))!["ticket"]!["token"]!;
        var key = UserSigningKey.Generate(UserKeyCurve.P256);
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var response = await http.PostAsJsonAsync("/api/login/ticket", new { user = cuid, token, publicKey = key.ExportPublicJwk() });
        var body = await ApiUser.ReadAsync(response);
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        var user = new ApiUser(cuid, key, http);
        user.UseToken((string)body["token"]!);
        return user;
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
