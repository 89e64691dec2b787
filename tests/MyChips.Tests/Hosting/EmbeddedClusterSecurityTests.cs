using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using MyChips.Data.Embedded;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Hosting;

/// <summary>
/// The embedded cluster lets in only who knows its generated password (scram-sha-256), keeps that secret 0600 in the
/// data directory, never changes the mode of a folder it did not create, and secures a cluster an older version made.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes and the postgres OS user are Unix things
public sealed class EmbeddedClusterSecurityTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    [Fact]
    public async Task A_new_embedded_cluster_refuses_tcp_logins_without_its_password_and_keeps_the_secret_0600()
    {
        using var parent = new TempFolder((UnixFileMode)0b111_101_001); // 0751: others may pass through, not list
        var before = File.GetUnixFileMode(parent.Path);
        var cluster = await StartAsync(Path.Combine(parent.Path, "pg"));
        await using (cluster)
        {
            await using (var connection = new NpgsqlConnection(cluster.ConnectionString("postgres")))
            {
                await connection.OpenAsync();
                await using var query = new NpgsqlCommand("SELECT 1", connection);
                Assert.Equal(1, await query.ExecuteScalarAsync());
            }

            var withoutPassword = new NpgsqlConnectionStringBuilder(cluster.ConnectionString("postgres")) { Password = null, Pooling = false };
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => OpenAsync(withoutPassword.ConnectionString));
            var wrongPassword = new NpgsqlConnectionStringBuilder(cluster.ConnectionString("postgres")) { Password = "not-the-secret", Pooling = false };
            var refused = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(wrongPassword.ConnectionString));
            Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);

            var secret = Path.Combine(cluster.DataDirectory, EmbeddedPostgresCluster.SecretFileName);
            Assert.Equal(Private, File.GetUnixFileMode(secret));
            Assert.DoesNotContain("trust", HbaRules(cluster.DataDirectory));
        }

        Assert.Equal(before, File.GetUnixFileMode(parent.Path));
    }

    [Fact]
    public async Task A_data_dir_under_a_folder_the_postgres_user_cannot_reach_is_refused_and_the_folder_mode_is_unchanged()
    {
        using var parent = new TempFolder((UnixFileMode)0b111_000_000); // 0700, owned by us
        var dataDirectory = Path.Combine(parent.Path, "site", "pg");

        if (Environment.UserName == "root")
        {
            // The server runs as postgres, which cannot pass through the 0700 folder; opening it up is not ours to do.
            var refused = await Assert.ThrowsAsync<EmbeddedDataDirectoryException>(() => StartAsync(dataDirectory));
            Assert.Contains(parent.Path, refused.Message);
            Assert.False(Directory.Exists(Path.Combine(parent.Path, "site")), "nothing is created when the start is refused");
        }
        else
        {
            // Not root: the server runs as we do and reaches the folder as it is.
            await (await StartAsync(dataDirectory)).DisposeAsync();
        }

        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(parent.Path));
    }

    [Fact]
    public async Task A_data_dir_whose_parents_mychips_creates_serves_and_leaves_the_existing_parent_mode_unchanged()
    {
        using var parent = new TempFolder((UnixFileMode)0b111_101_101);
        var dataDirectory = Path.Combine(parent.Path, "one", "two", "pg");
        var port = FreePort.Next();

        await using (var process = MyChipsProcess.Start(["serve", "--data-dir", dataDirectory, "--web", $"http://127.0.0.1:{port}"]))
        {
            await Wait.UntilAsync(async () => process.HasExited || await IsReadyAsync(port), TimeSpan.FromSeconds(90), "the site is ready");
            Assert.False(process.HasExited, process.Output);
            await StopAsync(process);
            Assert.DoesNotContain(ReadSecret(dataDirectory), process.Output);
        }

        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(parent.Path));
        Assert.Equal(Private, File.GetUnixFileMode(Path.Combine(dataDirectory, EmbeddedPostgresCluster.SecretFileName)));
        Assert.Empty(OperatorErrorTests.PostgresProcessesOn(dataDirectory));
    }

    [Fact]
    public async Task A_cluster_made_by_the_previous_version_with_trust_logins_gets_a_password_and_the_site_serves_on_it()
    {
        using var parent = new TempFolder();
        var dataDirectory = Path.Combine(parent.Path, "pg");
        await InitialiseLegacyClusterAsync(dataDirectory);
        Assert.Contains("trust", HbaRules(dataDirectory));
        var port = FreePort.Next();

        await using (var process = MyChipsProcess.Start(["serve", "--data-dir", dataDirectory, "--web", $"http://127.0.0.1:{port}"]))
        {
            await Wait.UntilAsync(async () => process.HasExited || await IsReadyAsync(port), TimeSpan.FromSeconds(90), "the site is ready");
            Assert.False(process.HasExited, process.Output);
            Assert.Contains("now accepts password logins only", process.Output);
            Assert.DoesNotContain(ReadSecret(dataDirectory), process.Output);

            // The running server already refuses what it used to trust.
            var runningPort = int.Parse(File.ReadAllLines(Path.Combine(dataDirectory, "postmaster.pid"))[3]);
            var withoutPassword = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = runningPort, Username = "postgres", Database = "postgres", Pooling = false };
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => OpenAsync(withoutPassword.ConnectionString));
            withoutPassword.Password = "not-the-secret";
            var refused = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(withoutPassword.ConnectionString));
            Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);
            withoutPassword.Password = ReadSecret(dataDirectory);
            await OpenAsync(withoutPassword.ConnectionString);
            await StopAsync(process);
        }

        Assert.Equal(Private, File.GetUnixFileMode(Path.Combine(dataDirectory, EmbeddedPostgresCluster.SecretFileName)));
        Assert.DoesNotContain("trust", HbaRules(dataDirectory));

        // And the next start (secret present, rules already tight) just serves.
        var again = await StartAsync(dataDirectory);
        await using (again)
        {
            await OpenAsync(again.ConnectionString("postgres"));
        }
    }

    private static Task<EmbeddedPostgresCluster> StartAsync(string dataDirectory) =>
        EmbeddedPostgresCluster.StartAsync(new EmbeddedPostgresOptions { DataDirectory = dataDirectory, Durable = false },
            NullLogger.Instance, CancellationToken.None);

    private static async Task OpenAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
    }

    private static string ReadSecret(string dataDirectory) =>
        File.ReadAllText(Path.Combine(dataDirectory, EmbeddedPostgresCluster.SecretFileName)).Trim();

    /// <summary>The authentication methods of pg_hba.conf's rules (comments left out).</summary>
    private static List<string> HbaRules(string dataDirectory) =>
        File.ReadAllLines(Path.Combine(dataDirectory, "pg_hba.conf"))
            .Select(line => line.Split('#')[0].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 0)
            .Select(fields => fields[^1])
            .ToList();

    /// <summary>What the previous version's launcher made: initdb with trust for every local login, no secret.</summary>
    private static async Task InitialiseLegacyClusterAsync(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var initdb = PostgresBinaries.Locate().InitDb;
        string[] arguments = [initdb, "-D", dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"];
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["postgres:postgres", dataDirectory]);
            await RunAsync("runuser", ["-u", "postgres", "--", .. arguments]);
        }
        else
        {
            await RunAsync(arguments[0], arguments[1..]);
        }
    }

    private static async Task RunAsync(string program, string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(deadline.Token);
        Assert.True(process.ExitCode == 0, $"{program} failed: {await output}{await errors}");
    }

    private static async Task StopAsync(MyChipsProcess process)
    {
        process.Terminate();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        Assert.Equal(0, process.ExitCode);
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
}
