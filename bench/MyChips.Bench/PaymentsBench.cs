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
        var statements = new Option<bool>("--pg-statements") { Description = "Diagnostic: load pg_stat_statements and print the costliest statements" };
        var direct = new Option<bool>("--direct") { Description = "Diagnostic: call the domain in the bench process instead of HTTP (no Kestrel, no JSON over the wire)" };
        var command = new Command("payments", "Signed local payments/s and p50/p99 latency through the HTTP API with N concurrent users")
        {
            users, seconds, count, warmup, direct, statements,
        };
        command.SetAction((result, cancellationToken) => RunAsync(
            Math.Max(2, result.GetValue(users)), TimeSpan.FromSeconds(result.GetValue(seconds)), Math.Max(1, result.GetValue(count)),
            TimeSpan.FromSeconds(result.GetValue(warmup)), result.GetValue(direct), result.GetValue(statements), result.InvocationConfiguration.Output, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int userCount, TimeSpan duration, long maxCount, TimeSpan warmup, bool direct, bool statements, TextWriter output, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "mychips-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var options = new EmbeddedPostgresOptions { DataDirectory = Path.Combine(directory, "pg"), Durable = true };
        if (statements)
            options.Settings["shared_preload_libraries"] = "pg_stat_statements";
        await using var cluster = await EmbeddedPostgresCluster.StartAsync(options, NullLogger.Instance, cancellationToken);
        await cluster.EnsureDatabaseAsync("bench", cancellationToken);
        // The product's own connection defaults (SiteHost.CreateDataSource): the bench measures what a site runs.
        var connectionString = cluster.ConnectionString("bench");
        var port = FreePort();
        var requestLogLines = new System.Runtime.CompilerServices.StrongBox<long>();
        using var server = StartServer(connectionString, port, requestLogLines);
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

            await using var domainSource = NpgsqlDataSource.Create(connectionString);
            var chits = direct ? DirectChits(domainSource) : null;
            if (direct)
                output.WriteLine("mode: --direct (domain calls in the bench process; the server only answered the setup)");
            using var warm = new CancellationTokenSource(warmup);
            await Task.WhenAll(clients.Select(c => c.RunAsync(http, chits, long.MaxValue, warm.Token, record: false)));
            foreach (var c in clients)
                c.Reset();

            var perClient = Math.Max(1, maxCount / userCount);
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(duration);
            var postmaster = int.Parse(File.ReadLines(Path.Combine(options.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
            var cpuBefore = (Server: CpuSeconds(server.Id), Bench: CpuSeconds(Environment.ProcessId), Postgres: PostgresCpuSeconds(postmaster));
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(clients.Select(c => c.RunAsync(http, chits, perClient, bound.Token, record: true)));
            clock.Stop();
            var cpuAfter = (Server: CpuSeconds(server.Id), Bench: CpuSeconds(Environment.ProcessId), Postgres: PostgresCpuSeconds(postmaster));

            var latencies = clients.SelectMany(c => c.Latencies).Order().ToArray();
            var failed = clients.Sum(c => c.Failed);
            var ok = latencies.Length;
            var (rss, hwm) = Memory(server.Id);
            output.WriteLine($"payments ok {ok:N0}, failed {failed:N0}, in {clock.Elapsed.TotalSeconds:0.00} s");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rate {ok / clock.Elapsed.TotalSeconds:N0} payments/s; latency p50 {Percentile(latencies, 0.50):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms, max {(latencies.Length == 0 ? 0 : latencies[^1]):0.0} ms"));
            output.WriteLine($"server memory: resident {rss / 1024.0:0} MB, peak {hwm / 1024.0:0} MB; request log lines {requestLogLines.Value}");
            var perPayment = 1000.0 / Math.Max(1, ok);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"CPU per payment: server {(cpuAfter.Server - cpuBefore.Server) * perPayment:0.00} ms, PostgreSQL {(cpuAfter.Postgres - cpuBefore.Postgres) * perPayment:0.00} ms, bench clients {(cpuAfter.Bench - cpuBefore.Bench) * perPayment:0.00} ms; machine load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
            output.WriteLine(await CheckBooksAsync(connectionString, clients, cancellationToken));
            if (statements)
                await PrintStatementsAsync(connectionString, ok, output, cancellationToken);
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

    private static Process StartServer(string connectionString, int port, System.Runtime.CompilerServices.StrongBox<long> lines)
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
        info.Environment["MYCHIPS__Peer__Endpoint"] = "127.0.0.1:0"; // one site, no peers: any free port
        info.Environment["MYCHIPS__RateLimit__LoginPerMinute"] = "100000"; // every client logs in from this one address
        // One log line per request would cost more than the request; keep warnings.
        info.Environment["MYCHIPS__Serilog__MinimumLevel__Override__Serilog.AspNetCore.RequestLoggingMiddleware"] = "Warning";
        info.Environment["MYCHIPS__Serilog__MinimumLevel__Override__MyChips.Server.Api.ApiErrors"] = "Warning";
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && e.Data.Contains("HTTP POST", StringComparison.Ordinal))
                lines.Value++;
        };
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
            clients.Add(new Client(cuid, key, (string)login["token"]!) { UserId = i + 1 });
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

    private static async Task PrintStatementsAsync(string connectionString, long payments, TextWriter output, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection))
            await create.ExecuteNonQueryAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT calls, plans, total_exec_time, total_plan_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 14", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        output.WriteLine("statements (whole run): calls, plans, exec ms, plan ms, per payment µs, query");
        while (await reader.ReadAsync(cancellationToken))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {reader.GetInt64(0),8} {reader.GetInt64(1),8} {reader.GetDouble(2),9:0} {reader.GetDouble(3),7:0}  {reader.GetString(4)}"));
        }

        await reader.CloseAsync();
        await using var tables = new NpgsqlCommand(
            "SELECT relname, n_tup_upd, n_tup_hot_upd, n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE schemaname = 'mychips' AND n_tup_upd > 0", connection);
        await using var rows = await tables.ExecuteReaderAsync(cancellationToken);
        while (await rows.ReadAsync(cancellationToken))
            output.WriteLine($"  table {rows.GetString(0)}: updates {rows.GetInt64(1)}, HOT {rows.GetInt64(2)}, live {rows.GetInt64(3)}, dead {rows.GetInt64(4)}");
    }

    private static Chits DirectChits(NpgsqlDataSource dataSource)
    {
        var options = Options.Create(new DomainOptions());
        var transactions = new SiteTransactions(dataSource, new SiteCodeVersion(MigrationSet.Embedded().CodeVersion));
        var verifier = new SignatureVerifier();
        var router = new MessageRouter(new MessageReceiver(new TallyReceiver(verifier), new ChitReceiver(new ChainConsensus(verifier))));
        return new Chits(new DomainRunner(transactions, new SiteAgents(transactions, options), new DomainNotifier(dataSource)), router, verifier, dataSource);
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

    /// <summary>User + system CPU seconds of a process (from /proc; clock ticks of 1/100 s).</summary>
    private static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            return 0; // the process ended (a backend that disconnected)
        }
    }

    /// <summary>The postmaster and its children (backends, WAL writer, checkpointer).</summary>
    private static double PostgresCpuSeconds(int postmaster)
    {
        var total = CpuSeconds(postmaster);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) == postmaster)
                    total += CpuSeconds(pid);
            }
            catch (IOException)
            {
            }
        }

        return total;
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

        public long UserId { get; set; }

        public async Task RunAsync(HttpClient http, Chits? direct, long count, CancellationToken stop, bool record)
        {
            if (direct is not null)
            {
                await RunDirectAsync(direct, count, stop, record);
                return;
            }

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

        private async Task RunDirectAsync(Chits chits, long count, CancellationToken stop, bool record)
        {
            var user = new AuthenticatedUser(UserId, Cuid, DateTimeOffset.MaxValue);
            for (long n = 0; n < count && !stop.IsCancellationRequested; n++)
            {
                var uuid = Guid.NewGuid();
                var date = ChipTimestamp.Truncate(DateTimeOffset.UtcNow);
                var units = 1 + (n % 1000);
                var core = ChitJson.Core(Tally, "stock", "tran", uuid, date, units, null, null);
                var payment = new Payment(uuid, ChipTimestamp.ToText(date), units, null, null, Sign(ChitJson.SignedBytes(core)));
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await chits.PayAsync(user, Tally, payment, CancellationToken.None);
                }
                catch (DomainException)
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
