using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Dapper;
using MyChips.Data.Crypto;
using MyChips.Tests.Api;
using MyChips.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace MyChips.Tests.Hosting;

/// <summary>SIGTERM with push WebSockets open: they are told the server is going away, and the process exits at once.</summary>
[Collection(HostingCollection.Name)]
public sealed class ShutdownTests(PostgresServer server, ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    [Fact]
    public async Task Sigterm_closes_every_push_socket_with_1001_and_the_process_exits_within_2_s_marked_stopped()
    {
        var connectionString = await server.CreateDatabaseAsync("shutdown");
        var port = FreePort.Next();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        await using var process = MyChipsProcess.Start(["serve", "--db", connectionString, "--web", $"http://127.0.0.1:{port}"]);
        await Wait.UntilAsync(async () => process.HasExited || await IsReadyAsync(port), TimeSpan.FromSeconds(60), "ready");
        Assert.False(process.HasExited, process.Output);
        var token = await LoginAsync(["--db", connectionString], baseAddress, "shutter");

        var sockets = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var socket = new ClientWebSocket();
                sockets.Add(socket);
                await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/api/ws?access_token={token}"), CancellationToken.None);
                Assert.Equal("hello", (string?)(await ReceiveTextAsync(socket))?["type"]);
            }

            var closes = sockets.Select(ReceiveCloseAsync).ToList();
            var clock = Stopwatch.StartNew();
            process.Terminate();
            using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(40)))
            {
                await process.WaitForExitAsync(deadline.Token);
            }

            var exitedAfter = clock.Elapsed;
            output.WriteLine($"exited {exitedAfter.TotalMilliseconds:F0} ms after SIGTERM");
            Assert.Equal(0, process.ExitCode);
            Assert.True(exitedAfter < TimeSpan.FromSeconds(2), $"exits within 2 s of SIGTERM; took {exitedAfter.TotalSeconds:F2} s:\n{process.Output}");
            foreach (var close in closes)
            {
                Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await close);
            }

            await using var connection = new NpgsqlConnection(connectionString);
            Assert.Equal("stopped", await connection.ExecuteScalarAsync<string>(
                "SELECT state FROM mychips_meta.instances WHERE pid = @pid ORDER BY started_at DESC LIMIT 1", new { pid = process.Pid }));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task Sigterm_with_a_socket_open_on_the_embedded_cluster_marks_the_instance_stopped_and_stops_the_cluster_cleanly()
    {
        var directory = Directory.CreateTempSubdirectory("mychips-shutdown-");
        // As root the cluster runs as postgres, which must be able to traverse the folder (mychips never changes its mode).
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(directory.FullName, (UnixFileMode)0b111_101_101);
        try
        {
            var dataDirectory = Path.Combine(directory.FullName, "pg");
            var port = FreePort.Next();
            await using var process = MyChipsProcess.Start(["serve", "--data-dir", dataDirectory, "--web", $"http://127.0.0.1:{port}"]);
            await Wait.UntilAsync(async () => process.HasExited || await IsReadyAsync(port), TimeSpan.FromSeconds(120), "ready");
            Assert.False(process.HasExited, process.Output);
            var token = await LoginAsync(["--data-dir", dataDirectory], new Uri($"http://127.0.0.1:{port}"), "embedded");
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/api/ws?access_token={token}"), CancellationToken.None);
            Assert.Equal("hello", (string?)(await ReceiveTextAsync(socket))?["type"]);
            var close = ReceiveCloseAsync(socket);

            var clock = Stopwatch.StartNew();
            process.Terminate();
            using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(40)))
            {
                await process.WaitForExitAsync(deadline.Token);
            }

            // No bound on the time here: a clean stop includes PostgreSQL's shutdown checkpoint (fsync), which is
            // the disk's speed, not ours.
            output.WriteLine($"exited {clock.Elapsed.TotalMilliseconds:F0} ms after SIGTERM, embedded cluster stopped");
            Assert.Equal(0, process.ExitCode);
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await close);
            Assert.Contains($"Embedded PostgreSQL in {dataDirectory} stopped", process.Output);
            Assert.False(File.Exists(Path.Combine(dataDirectory, "postmaster.pid")), "the cluster's postmaster.pid is gone");

            // The status verb starts the cluster again (and stops it) to read the registry.
            var status = await MyChipsProcess.RunAsync(["upgrade", "status", "--all", "--data-dir", dataDirectory]);
            Assert.Equal(0, status.ExitCode);
            Assert.Matches($@"pid {process.Pid}  code \S+ schema \d+  stopped", status.Output);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Adds a user and logs in with a ticket, as <c>ProcessSite</c> does; returns the session token.</summary>
    private static async Task<string> LoginAsync(string[] database, Uri baseAddress, string cuid)
    {
        var (code, output) = await MyChipsProcess.RunAsync(["user", "add", "--name", cuid + " Example", "--cuid", cuid, .. database]);
        Assert.True(code == 0, output);
        (code, output) = await MyChipsProcess.RunAsync(["user", "ticket", cuid, .. database]);
        Assert.True(code == 0, output);
        var ticket = (string)JsonNode.Parse(output.Split('\n').First(l => l.StartsWith("{\"ticket\"", StringComparison.Ordinal)))!["ticket"]!["token"]!;
        var key = UserSigningKey.Generate(UserKeyCurve.P256);
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.PostAsJsonAsync("/api/login/ticket", new { user = cuid, token = ticket, publicKey = key.ExportPublicJwk() });
        var body = await ApiUser.ReadAsync(response);
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        return (string)body["token"]!;
    }

    private static async Task<JsonObject?> ReceiveTextAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[16 * 1024];
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        return result.MessageType == WebSocketMessageType.Text
            ? (JsonObject)JsonNode.Parse(System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count))!
            : null;
    }

    /// <summary>Reads until the server's close frame; the status it carried (null: the connection just dropped, 1006).</summary>
    private static async Task<WebSocketCloseStatus?> ReceiveCloseAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    // Answer the close, as a browser does (the server may already be gone: that is fine).
                    try
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                    }
                    catch (WebSocketException)
                    {
                    }

                    return result.CloseStatus;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<bool> IsReadyAsync(int port)
    {
        try
        {
            using var response = await Http.GetAsync($"http://127.0.0.1:{port}/readyz");
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
