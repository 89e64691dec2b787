using Dapper;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Hosting;

/// <summary>Real <c>mychips</c> processes against one database.</summary>
[Collection(HostingCollection.Name)]
public sealed class ProcessStartTests(PostgresServer server)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    [Fact]
    public async Task Four_processes_started_at_once_on_an_empty_database_apply_each_migration_once_and_all_serve()
    {
        var connectionString = await server.CreateDatabaseAsync("four");
        var ports = Enumerable.Range(0, 4).Select(_ => FreePort.Next()).ToList();
        var processes = ports.Select(port => MyChipsProcess.Start(
            ["serve", "--db", connectionString, "--web", $"http://127.0.0.1:{port}"])).ToList();
        try
        {
            foreach (var (process, port) in processes.Zip(ports))
            {
                await Wait.UntilAsync(async () => process.HasExited || await IsReadyAsync(port), TimeSpan.FromSeconds(60),
                    $"the process on port {port} is ready");
                Assert.False(process.HasExited, process.Output);
            }

            await using var connection = new NpgsqlConnection(connectionString);
            var rows = (await connection.QueryAsync<(int Number, string AppliedBy)>(
                "SELECT number, applied_by FROM mychips_meta.migrations ORDER BY number")).AsList();
            Assert.Equal(MyChips.Data.Schema.MigrationSet.Embedded().Select(m => m.Number), rows.Select(r => r.Number));
            Assert.Single(rows.Select(r => r.AppliedBy).Distinct()); // one leader applied them all
            var appliedLines = processes.Sum(p => CountOccurrences(p.Output, "Applied migration "));
            Assert.Equal(rows.Count, appliedLines);
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_query_string_token_never_reaches_the_log_even_with_aspnetcore_logging_turned_up()
    {
        var connectionString = await server.CreateDatabaseAsync("logs");
        var port = FreePort.Next();
        const string secret = "SECRET-token-7f3a9c";
        await using var process = MyChipsProcess.Start(["--db", connectionString, "--web", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string> { ["MYCHIPS__Serilog__MinimumLevel__Override__Microsoft.AspNetCore"] = "Debug" });
        await Wait.UntilAsync(async () => process.HasExited || await IsReadyAsync(port), TimeSpan.FromSeconds(60), "ready");

        using var response = await Http.GetAsync($"http://127.0.0.1:{port}/api/ws?access_token={secret}");
        await Wait.UntilAsync(() => process.Output.Contains("/api/ws"), TimeSpan.FromSeconds(10), "the request is logged");

        Assert.DoesNotContain(secret, process.Output);
    }

    [Fact]
    public async Task Sigterm_stops_a_serving_process_with_exit_code_zero()
    {
        var connectionString = await server.CreateDatabaseAsync("term");
        var port = FreePort.Next();
        await using var process = MyChipsProcess.Start(["--db", connectionString, "--web", $"http://127.0.0.1:{port}"]);
        await Wait.UntilAsync(async () => process.HasExited || await IsReadyAsync(port), TimeSpan.FromSeconds(60), "ready");

        process.Terminate();

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(deadline.Token);
        Assert.Equal(0, process.ExitCode);
    }

    [Fact]
    public async Task Missing_postgres_binaries_give_one_clear_line_and_exit_code_1()
    {
        var empty = Directory.CreateTempSubdirectory("mychips-nobin-");
        try
        {
            var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--data-dir", Path.Combine(empty.FullName, "pg")],
                new Dictionary<string, string> { ["MYCHIPS__Database__Embedded__BinDirectory"] = empty.FullName });

            Assert.Equal(1, exitCode);
            var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("mychips: error [postgres_not_found]: PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found", line);
            Assert.Contains("apt-get install postgresql", line);
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Migrate_dry_run_lists_pending_migrations_with_modes_and_changes_nothing()
    {
        var connectionString = await server.CreateDatabaseAsync("dry");

        var (exitCode, output) = await MyChipsProcess.RunAsync(["migrate", "--dry-run", "--db", connectionString]);

        Assert.Equal(0, exitCode);
        Assert.Contains("0001_meta.sql  expand", output);
        Assert.Contains("0002_domain.sql  expand", output);
        await using var connection = new NpgsqlConnection(connectionString);
        Assert.False(await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('mychips_meta.migrations') IS NOT NULL"));
    }

    [Fact]
    public async Task Migrate_then_upgrade_status_reports_the_version_and_no_pending_migrations()
    {
        var connectionString = await server.CreateDatabaseAsync("status");
        var version = MyChips.Data.Schema.MigrationSet.Embedded().CodeVersion;

        var migrate = await MyChipsProcess.RunAsync(["migrate", "--db", connectionString]);
        var status = await MyChipsProcess.RunAsync(["upgrade", "status", "--db", connectionString]);

        Assert.Equal(0, migrate.ExitCode);
        Assert.Contains($"database schema version {version}", migrate.Output);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains($"Database schema version: {version} ", status.Output);
        Assert.Contains("Pending migrations:      none", status.Output);
    }

    [Fact]
    public async Task A_malformed_connection_string_is_a_configuration_error()
    {
        var (exitCode, output) = await MyChipsProcess.RunAsync(["migrate", "--db", "Host=127.0.0.1;NoSuchKeyword=1"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("mychips: error [config_invalid]", output);
    }

    [Fact]
    public async Task A_database_that_refuses_the_connection_gives_one_clear_line_not_a_stack_trace()
    {
        // The server answers, but with an error (here 3D000, no such database; a wrong password is 28P01): a
        // PostgresException, which CliErrors let through as an unhandled exception with a stack trace.
        var connectionString = new NpgsqlConnectionStringBuilder(await server.CreateDatabaseAsync("refuse")) { Database = "no_such_database_here" }.ConnectionString;

        var (exitCode, output) = await MyChipsProcess.RunAsync(["migrate", "--db", connectionString]);

        Assert.Equal(1, exitCode);
        Assert.Contains("mychips: error [database_unreachable]", output);
        Assert.Contains("3D000", output);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("   at ", output);
    }

    private static async Task<bool> IsReadyAsync(int port)
    {
        try
        {
            using var response = await Http.GetAsync($"http://127.0.0.1:{port}/readyz");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
