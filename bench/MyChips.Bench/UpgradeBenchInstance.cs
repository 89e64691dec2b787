using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace MyChips.Bench;

/// <summary>A real <c>mychips serve</c> process of the upgrade bench, built for one code schema version.</summary>
internal sealed class UpgradeBenchInstance : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;

    private UpgradeBenchInstance(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static UpgradeBenchInstance Start(string connectionString, string migrations, int codeSchemaVersion, string probeSql)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mychips.dll"));
        foreach (var argument in new[] { "serve", "--db", connectionString, "--web", $"http://127.0.0.1:{port}" })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["MYCHIPS__Peer__Endpoint"] = "127.0.0.1:0"; // several instances at once: no fixed peer port
        info.Environment["MYCHIPS__Schema__MigrationsDirectory"] = migrations;
        info.Environment["MYCHIPS__Schema__CodeSchemaVersion"] = codeSchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["MYCHIPS__Diagnostics__Probe__Enabled"] = "true";
        info.Environment["MYCHIPS__Diagnostics__Probe__Sql"] = probeSql;
        info.Environment["MYCHIPS__Upgrade__HeartbeatInterval"] = "00:00:00.500";
        info.Environment["MYCHIPS__Upgrade__HeartbeatExpiry"] = "00:00:05";
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new UpgradeBenchInstance(process, port);
    }

    public async Task WaitForStateAsync(string state, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The instance on port {Port} exited with {_process.ExitCode} before it was {state}.");
            }

            try
            {
                using var response = await Http.GetAsync($"{Url}/readyz", deadline.Token);
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(deadline.Token));
                if (body.RootElement.GetProperty("state").GetString() == state)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(50, deadline.Token);
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        // The bench is over: the cluster goes with it, no need for an orderly stop.
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
