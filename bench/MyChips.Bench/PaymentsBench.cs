using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MyChips.Data;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Data.Embedded;
using MyChips.Data.Schema;
using Npgsql;

namespace MyChips.Bench;

/// <summary>
/// Scenario <c>payments</c>: signed local payments through the HTTP user API. Starts an embedded PostgreSQL cluster
/// with fsync on and a real <c>mychips serve</c> process, creates N users in a ring (user i holds the stock of a tally
/// with user i+1), and lets N concurrent clients each sign (ECDSA P-256) and post payments on their own tally until a
/// time or count bound. Prints payments/s, latency percentiles, failures and the server's memory, then checks the
/// books: every tally's halves balance and a chain verifies.
/// </summary>
internal static class PaymentsBench
{
    public static Command Create()
    {
        var users = new Option<int>("--users") { Description = "Concurrent users (clients), at least 2", DefaultValueFactory = _ => 16 };
        var seconds = new Option<double>("--seconds") { Description = "Measured time bound, in seconds", DefaultValueFactory = _ => 15 };
        var count = new Option<long>("--count") { Description = "Payment count bound (all clients together)", DefaultValueFactory = _ => 1_000_000 };
        var warmup = new Option<double>("--warmup") { Description = "Unmeasured warm-up, in seconds", DefaultValueFactory = _ => 3 };
        var command = new Command("payments", "Signed local payments/s and p50/p99 latency through the HTTP API with N concurrent users")
        {
            users, seconds, count, warmup,
        };
        command.SetAction((result, cancellationToken) => RunAsync(
            Math.Max(2, result.GetValue(users)), TimeSpan.FromSeconds(result.GetValue(seconds)), Math.Max(1, result.GetValue(count)),
            TimeSpan.FromSeconds(result.GetValue(warmup)), result.InvocationConfiguration.Output, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int userCount, TimeSpan duration, long maxCount, TimeSpan warmup, TextWriter output, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "mychips-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var options = new EmbeddedPostgresOptions { DataDirectory = Path.Combine(directory, "pg"), Durable = true };
        await using var cluster = await EmbeddedPostgresCluster.StartAsync(options, NullLogger.Instance, cancellationToken);
        await cluster.EnsureDatabaseAsync("bench", cancellationToken);
        // Auto-prepare: the hot statements are parsed and planned once per connection.
        var connectionString = cluster.ConnectionString("bench") + ";Max Auto Prepare=32;Auto Prepare Min Usages=2";
        var port = FreePort();
        using var server = StartServer(connectionString, port);
        try
        {
            var baseAddress = new Uri($"http://127.0.0.1:{port}");
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
            {
                BaseAddress = baseAddress,
                Timeout = TimeSpan.FromSeconds(30),
            };
            await WaitReadyAsync(http, server, cancellationToken);

            output.WriteLine($"payments: {userCount} users/clients, P-256 keys, PostgreSQL {await ServerVersionAsync(connectionString)} embedded with fsync=on "
                + $"(synchronous_commit=on), server = one 'mychips serve' process, {Environment.ProcessorCount} cores shared with the clients");
            var clients = await CreateUsersAsync(connectionString, http, userCount, cancellationToken);
            output.WriteLine($"setup: {userCount} users logged in by ticket, {userCount} tallies opened through the API");

            using var warm = new CancellationTokenSource(warmup);
            await Task.WhenAll(clients.Select(c => c.RunAsync(http, long.MaxValue, warm.Token, record: false)));
            foreach (var c in clients)
                c.Reset();

            var perClient = Math.Max(1, maxCount / userCount);
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(duration);
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(clients.Select(c => c.RunAsync(http, perClient, bound.Token, record: true)));
            clock.Stop();

            var latencies = clients.SelectMany(c => c.Latencies).Order().ToArray();
            var failed = clients.Sum(c => c.Failed);
            var ok = latencies.Length;
            var (rss, hwm) = Memory(server.Id);
            output.WriteLine($"payments ok {ok:N0}, failed {failed:N0}, in {clock.Elapsed.TotalSeconds:0.00} s");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rate {ok / clock.Elapsed.TotalSeconds:N0} payments/s; latency p50 {Percentile(latencies, 0.50):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms, max {(latencies.Length == 0 ? 0 : latencies[^1]):0.0} ms"));
            output.WriteLine($"server memory: resident {rss / 1024.0:0} MB, peak {hwm / 1024.0:0} MB");
            output.WriteLine(await CheckBooksAsync(connectionString, clients, cancellationToken));
            foreach (var c in clients)
                c.Dispose();
            return failed == 0 ? 0 : 1;
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync(CancellationToken.None);
            }

            await cluster.DisposeAsync();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static Process StartServer(string connectionString, int port)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "mychips.dll"), "serve", "--db", connectionString, "--web", $"http://127.0.0.1:{port}" })
            info.ArgumentList.Add(argument);
        // One log line per request would cost more than the request; keep warnings.
        info.Environment["MYCHIPS__Serilog__MinimumLevel__Override__Serilog.AspNetCore.RequestLoggingMiddleware"] = "Warning";
        info.Environment["MYCHIPS__Serilog__MinimumLevel__Override__MyChips.Server.Api.ApiErrors"] = "Warning";
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitReadyAsync(HttpClient http, Process server, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (server.HasExited)
                throw new InvalidOperationException($"The server exited with code {server.ExitCode}.");
            try
            {
                if ((await http.GetAsync("/readyz", cancellationToken)).IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException("The server did not become ready in 60 s.");
    }

    /// <summary>Users are added and ticketed through the domain, as <c>mychips user add/ticket</c> do; everything else goes through HTTP.</summary>
    private static async Task<List<Client>> CreateUsersAsync(string connectionString, HttpClient http, int count, CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var domainOptions = Options.Create(new DomainOptions());
        var transactions = new SiteTransactions(dataSource, new SiteCodeVersion(MigrationSet.Embedded().CodeVersion));
        var agents = new SiteAgents(transactions, domainOptions);
        var users = new Users(transactions, agents);
        var tickets = new Tickets(transactions, agents, new Sessions(dataSource, domainOptions), domainOptions);
        var clients = new List<Client>();
        for (var i = 0; i < count; i++)
        {
            var cuid = $"u{i:D4}";
            await users.AddAsync($"Bench user {i}", cuid, cancellationToken);
            var ticket = await tickets.IssueAsync(cuid, null, cancellationToken);
            var key = UserSigningKey.Generate(UserKeyCurve.P256);
            var login = await PostAsync(http, null, "/api/login/ticket", new JsonObject { ["user"] = cuid, ["token"] = ticket.Token, ["publicKey"] = key.ExportPublicJwk() }, cancellationToken);
            clients.Add(new Client(cuid, key, (string)login["token"]!));
        }

        // A ring: client i holds the stock of a tally with client i+1 and pays on it.
        for (var i = 0; i < count; i++)
        {
            var stock = clients[i];
            var foil = clients[(i + 1) % count];
            var limit = new JsonObject { ["limit"] = ChitAmounts.Max };
            var draft = await PostAsync(http, stock.Token, "/api/tallies", new JsonObject { ["type"] = "stock", ["holdTerms"] = limit, ["partTerms"] = limit.DeepClone() }, cancellationToken);
            var tally = Guid.Parse((string)draft["uuid"]!);
            var invitation = await PostAsync(http, stock.Token, $"/api/tallies/{tally}/invite", new JsonObject(), cancellationToken);
            await PostAsync(http, foil.Token, "/api/invitations/redeem", new JsonObject { ["token"] = invitation["token"]!.DeepClone(), ["chad"] = invitation["chad"]!.DeepClone() }, cancellationToken);
            var pdraft = await GetAsync(http, stock.Token, $"/api/tallies/{tally}", cancellationToken);
            await PostAsync(http, stock.Token, $"/api/tallies/{tally}/offer", new JsonObject { ["signature"] = stock.Sign(TallyJson.SignedBytes((JsonObject)pdraft["json"]!)) }, cancellationToken);
            var offered = await GetAsync(http, foil.Token, $"/api/tallies/{tally}", cancellationToken);
            await PostAsync(http, foil.Token, $"/api/tallies/{tally}/accept", new JsonObject { ["signature"] = foil.Sign(TallyJson.SignedBytes((JsonObject)offered["json"]!)) }, cancellationToken);
            stock.Tally = tally;
        }

        return clients;
    }

    private static async Task<string> CheckBooksAsync(string connectionString, List<Client> clients, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FILTER (WHERE s.net <> -f.net OR s.chain_hash <> f.chain_hash), sum(s.chain_last) FROM mychips.tallies s JOIN mychips.tallies f ON f.tally_uuid = s.tally_uuid AND f.tally_type = 'foil' WHERE s.tally_type = 'stock'",
            connection);
        long unbalanced, chits;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            unbalanced = reader.GetInt64(0);
            chits = reader.GetInt64(1);
        }

        if (unbalanced != 0)
            return $"books: {unbalanced} tallies whose halves disagree!";
        var chain = await HashChain.VerifyAsync(connection, clients[0].Tally, "stock", cancellationToken);
        return $"books: {chits:N0} chits linked, every tally's halves balance and share a chain head; chain of tally 0 ({chain.Length} blocks) {(chain.Valid ? "verifies" : "FAILS: " + chain.Problem)}";
    }

    private static async Task<JsonObject> PostAsync(HttpClient http, string? token, string path, JsonObject body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await SendAsync(http, request, cancellationToken);
    }

    private static async Task<JsonObject> GetAsync(HttpClient http, string token, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await SendAsync(http, request, cancellationToken);
    }

    private static async Task<JsonObject> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{request.Method} {request.RequestUri} -> {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    private static async Task<string> ServerVersionAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection.PostgreSqlVersion.ToString();
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static (long RssKb, long HwmKb) Memory(int pid)
    {
        long rss = 0, hwm = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                rss = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                hwm = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }

        return (rss, hwm);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>One user's app: signs each payment like a real client and posts it, timing every request.</summary>
    private sealed class Client(string cuid, UserSigningKey key, string token) : IDisposable
    {
        public string Cuid { get; } = cuid;

        public string Token { get; } = token;

        public Guid Tally { get; set; }

        public List<double> Latencies { get; } = new(100_000);

        public long Failed { get; private set; }

        public string Sign(byte[] bytes) => Base64Url.Encode(key.Sign(bytes));

        public void Reset()
        {
            Latencies.Clear();
            Failed = 0;
        }

        public async Task RunAsync(HttpClient http, long count, CancellationToken stop, bool record)
        {
            var path = $"/api/tallies/{Tally}/pay";
            for (long n = 0; n < count && !stop.IsCancellationRequested; n++)
            {
                var uuid = Guid.NewGuid();
                var date = ChipTimestamp.Truncate(DateTimeOffset.UtcNow);
                var core = ChitJson.Core(Tally, "stock", "tran", uuid, date, 1 + (n % 1000), null, null);
                var body = new JsonObject
                {
                    ["uuid"] = uuid.ToString(), ["date"] = ChipTimestamp.ToText(date), ["units"] = 1 + (n % 1000),
                    ["ref"] = null, ["memo"] = null, ["signature"] = Sign(ChitJson.SignedBytes(core)),
                };
                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.SendAsync(request, CancellationToken.None);
                    await response.Content.LoadIntoBufferAsync();
                    if (!response.IsSuccessStatusCode)
                    {
                        if (record)
                            Failed++;
                        continue;
                    }
                }
                catch (HttpRequestException)
                {
                    if (record)
                        Failed++;
                    continue;
                }

                if (record)
                    Latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        public void Dispose() => key.Dispose();
    }
}
