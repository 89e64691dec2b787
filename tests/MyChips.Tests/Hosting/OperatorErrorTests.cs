using System.Net;
using System.Net.Sockets;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Hosting;

/// <summary>
/// Mistakes an operator can make at start: each gives exactly one <c>mychips: error [code]</c> line, no stack trace,
/// exit 2 for configuration and 1 for the runtime, and leaves no embedded server running.
/// </summary>
[Collection(HostingCollection.Name)]
public sealed class OperatorErrorTests(PostgresServer server)
{
    [Fact]
    public async Task A_malformed_connection_string_for_serve_is_one_config_invalid_line_and_exit_code_2()
    {
        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--db", "Host=127.0.0.1;NoSuchKeyword=1", "--web", "http://127.0.0.1:0"]);

        AssertOneErrorLine(output, "config_invalid");
        Assert.Equal(2, exitCode);
    }

    [Fact]
    public async Task A_data_dir_that_is_a_file_is_one_data_dir_unusable_line_and_exit_code_2()
    {
        using var parent = new TempFolder();
        var file = Path.Combine(parent.Path, "a-file");
        await File.WriteAllTextAsync(file, "not a folder");

        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--data-dir", file, "--web", "http://127.0.0.1:0"]);

        var line = AssertOneErrorLine(output, "data_dir_unusable");
        Assert.Contains("is a file", line);
        Assert.Equal(2, exitCode);
    }

    [Fact]
    public async Task A_data_dir_that_cannot_be_created_is_one_data_dir_unusable_line_and_exit_code_2()
    {
        using var parent = new TempFolder();
        var file = Path.Combine(parent.Path, "a-file");
        await File.WriteAllTextAsync(file, "not a folder");

        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--data-dir", Path.Combine(file, "pg"), "--web", "http://127.0.0.1:0"]);

        var line = AssertOneErrorLine(output, "data_dir_unusable");
        Assert.Contains("cannot be created", line);
        Assert.Equal(2, exitCode);
    }

    [Fact]
    public async Task A_data_dir_on_a_read_only_file_system_is_one_data_dir_unusable_line_and_exit_code_2()
    {
        // sysfs refuses new folders even to root, which is who the tests run as (a mode bit would not stop root).
        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--data-dir", "/sys/mychips-test-no-such-folder/pg", "--web", "http://127.0.0.1:0"]);

        var line = AssertOneErrorLine(output, "data_dir_unusable");
        Assert.Contains("cannot be created or written", line);
        Assert.Equal(2, exitCode);
    }

    [Fact]
    public async Task A_web_port_in_use_after_the_embedded_cluster_started_is_one_address_in_use_line_exit_1_and_no_postgres_left()
    {
        using var parent = new TempFolder();
        var dataDirectory = Path.Combine(parent.Path, "pg");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--data-dir", dataDirectory, "--web", $"http://127.0.0.1:{port}"],
            timeout: TimeSpan.FromSeconds(120));

        Assert.Contains("Embedded PostgreSQL started", output); // the cluster did start before the bind failed
        var line = AssertOneErrorLine(output, "address_in_use");
        Assert.Contains($"127.0.0.1:{port}", line);
        Assert.Equal(1, exitCode);
        Assert.False(File.Exists(Path.Combine(dataDirectory, "postmaster.pid")), "the embedded server's pid file is left behind");
        Assert.Empty(PostgresProcessesOn(dataDirectory));
    }

    [Fact]
    public async Task A_peer_port_in_use_is_one_address_in_use_line_and_exit_code_1()
    {
        var connectionString = await server.CreateDatabaseAsync("peerport");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--db", connectionString, "--web", "http://127.0.0.1:0"],
            new Dictionary<string, string> { ["MYCHIPS__Peer__Endpoint"] = $"127.0.0.1:{port}" });

        var line = AssertOneErrorLine(output, "address_in_use");
        Assert.Contains($"127.0.0.1:{port}", line);
        Assert.Equal(1, exitCode);
    }

    internal static string AssertOneErrorLine(string output, string code)
    {
        var errors = output.Split('\n').Where(l => l.StartsWith("mychips: error", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(errors);
        Assert.StartsWith($"mychips: error [{code}]: ", line);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("Exception:", output);
        return line;
    }

    /// <summary>Processes whose command line names the data directory (postgres runs as <c>postgres -D dir</c>).</summary>
    internal static List<int> PostgresProcessesOn(string dataDirectory)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid))
                continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains("postgres", StringComparison.Ordinal) && commandLine.Contains(dataDirectory, StringComparison.Ordinal))
                    found.Add(pid);
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}

/// <summary>A temporary folder the postgres OS user can traverse (mode 0755), deleted afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder(UnixFileMode mode = (UnixFileMode)0b111_101_101)
    {
        Path = Directory.CreateTempSubdirectory("mychips-ops-").FullName;
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(Path, mode);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }
}
