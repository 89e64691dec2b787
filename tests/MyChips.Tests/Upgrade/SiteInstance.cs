using System.Net;
using System.Text.Json;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Upgrade;

/// <summary>
/// A real <c>mychips serve</c> process built for one code schema version (the fixture migration set cut at it),
/// with the write probe enabled and short heartbeats so that tests run in seconds.
/// </summary>
public sealed class SiteInstance : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private SiteInstance(MyChipsProcess process, int port, int codeSchemaVersion)
    {
        Process = process;
        Port = port;
        CodeSchemaVersion = codeSchemaVersion;
    }

    public MyChipsProcess Process { get; }

    public int Port { get; }

    public int CodeSchemaVersion { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public static SiteInstance Start(string connectionString, string migrations, int codeSchemaVersion, string probeSql,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var port = FreePort.Next();
        var environment = new Dictionary<string, string>
        {
            ["MYCHIPS__Schema__MigrationsDirectory"] = migrations,
            ["MYCHIPS__Schema__CodeSchemaVersion"] = codeSchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MYCHIPS__Diagnostics__Probe__Enabled"] = "true",
            ["MYCHIPS__Diagnostics__Probe__Sql"] = probeSql,
            ["MYCHIPS__Upgrade__HeartbeatInterval"] = "00:00:00.500",
            ["MYCHIPS__Peer__AllowedNetworks"] = "127.0.0.0/8", // any peer in a test is on loopback
            ["MYCHIPS__Upgrade__HeartbeatExpiry"] = "00:00:05",
            ["MYCHIPS__Upgrade__DrainTimeout"] = "00:00:15",
            ["MYCHIPS__Upgrade__OldInstanceWaitTimeout"] = "00:00:30",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = MyChipsProcess.Start(["serve", "--db", connectionString, "--web", $"http://127.0.0.1:{port}"], environment);
        return new SiteInstance(process, port, codeSchemaVersion);
    }

    /// <summary>The state and reason <c>/readyz</c> reports, with its status code; null while nothing answers.</summary>
    public async Task<(HttpStatusCode Status, string State, string? Reason)?> ReadinessAsync()
    {
        try
        {
            using var response = await Http.GetAsync($"{Url}/readyz");
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var reason = body.RootElement.GetProperty("reason");
            return (response.StatusCode, body.RootElement.GetProperty("state").GetString()!,
                reason.ValueKind == JsonValueKind.Null ? null : reason.GetString());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public Task WaitForStateAsync(string state, TimeSpan timeout) =>
        Wait.UntilAsync(async () =>
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"The instance on port {Port} exited ({Process.ExitCode}) before it was {state}:\n{Process.Output}");
            }

            return (await ReadinessAsync())?.State == state;
        }, timeout, $"the instance on port {Port} (schema {CodeSchemaVersion}) is {state}");

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await Process.WaitForExitAsync(deadline.Token);
        return Process.ExitCode;
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
