using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MyChips.Data.Embedded;

/// <summary>
/// A private PostgreSQL cluster in a local directory, started on a loopback port: the site's database when no
/// connection string is configured, and every test's throwaway server.
/// </summary>
public sealed class EmbeddedPostgresCluster : IAsyncDisposable
{
    private const string SuperUser = "postgres";
    private readonly PostgresBinaries _binaries;
    private readonly EmbeddedPostgresOptions _options;
    private readonly ILogger _logger;
    private int _stopped;

    private EmbeddedPostgresCluster(PostgresBinaries binaries, EmbeddedPostgresOptions options, string dataDirectory,
        int port, bool ownsServer, ILogger logger)
    {
        _binaries = binaries;
        _options = options;
        DataDirectory = dataDirectory;
        Port = port;
        OwnsServer = ownsServer;
        _logger = logger;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    /// <summary>False when the server was already running (another process started it); we then leave it running.</summary>
    public bool OwnsServer { get; }

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = SuperUser,
        Database = database,
    }.ConnectionString;

    /// <summary>Initialises the cluster if its directory is new, then starts it (or attaches to it if running).</summary>
    public static async Task<EmbeddedPostgresCluster> StartAsync(EmbeddedPostgresOptions options, ILogger logger,
        CancellationToken cancellationToken)
    {
        var binaries = PostgresBinaries.Locate(options.BinDirectory);
        var dataDirectory = Path.GetFullPath(options.DataDirectory);

        if (!File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            await InitialiseAsync(binaries, dataDirectory, logger, cancellationToken).ConfigureAwait(false);
        }

        if (RunningPort(dataDirectory) is { } runningPort && await IsRunningAsync(binaries, dataDirectory, cancellationToken).ConfigureAwait(false))
        {
            logger.LogInformation("Embedded PostgreSQL already running in {DataDirectory} on port {Port}; attaching", dataDirectory, runningPort);
            return new EmbeddedPostgresCluster(binaries, options, dataDirectory, runningPort, ownsServer: false, logger);
        }

        var port = options.Port != 0 ? options.Port : FreeLoopbackPort();
        var serverOptions = new List<string>
        {
            "-p", port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=",
        };
        var settings = new Dictionary<string, string>(options.Settings);
        if (!options.Durable)
        {
            settings.TryAdd("fsync", "off");
            settings.TryAdd("full_page_writes", "off");
            settings.TryAdd("synchronous_commit", "off");
        }

        foreach (var (name, value) in settings)
        {
            serverOptions.Add("-c");
            serverOptions.Add($"{name}={value}");
        }

        await ProcessRunner.RunAsync(binaries.PgCtl,
        [
            "-D", dataDirectory, "-w", "-t", ((int)options.StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
            "-l", Path.Combine(dataDirectory, "server.log"),
            "-o", string.Join(' ', serverOptions.Select(QuoteServerOption)),
            "start",
        ], asPostgresUser: true, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Embedded PostgreSQL started in {DataDirectory} on 127.0.0.1:{Port}", dataDirectory, port);
        return new EmbeddedPostgresCluster(binaries, options, dataDirectory, port, ownsServer: true, logger);
    }

    /// <summary>Creates the database unless it exists; safe to call from several processes at once.</summary>
    public async Task EnsureDatabaseAsync(string database, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection)
        {
            Parameters = { new() { Value = database } },
        };
        if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
        {
            return;
        }

        await using var create = new NpgsqlCommand($"CREATE DATABASE {QuoteIdentifier(database)}", connection);
        try
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("Created database {Database}", database);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another process created it first.
        }
    }

    /// <summary>Stops the server if this object started it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!OwnsServer || Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        await ProcessRunner.RunAsync(_binaries.PgCtl,
            ["-D", DataDirectory, "-m", "fast", "-w", "-t", ((int)_options.StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture), "stop"],
            asPostgresUser: true, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Embedded PostgreSQL in {DataDirectory} stopped", DataDirectory);
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    private static async Task InitialiseAsync(PostgresBinaries binaries, string dataDirectory, ILogger logger,
        CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataDirectory);
        if (Directory.EnumerateFileSystemEntries(dataDirectory).Any())
        {
            throw new EmbeddedPostgresException(
                $"'{dataDirectory}' is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away or point "
                + "the embedded data directory elsewhere.");
        }

        if (!OperatingSystem.IsWindows() && ProcessRunner.IsRoot)
        {
            // The server runs as the postgres user, which must own its data directory and reach it.
            await ProcessRunner.RunAsync("chown", ["postgres:postgres", dataDirectory], asPostgresUser: false, cancellationToken).ConfigureAwait(false);
            for (var parent = Path.GetDirectoryName(dataDirectory); parent is not null && parent != "/"; parent = Path.GetDirectoryName(parent))
            {
                var mode = File.GetUnixFileMode(parent);
                if (!mode.HasFlag(UnixFileMode.OtherExecute))
                {
                    File.SetUnixFileMode(parent, mode | UnixFileMode.OtherExecute);
                }
            }
        }

        logger.LogInformation("Initialising embedded PostgreSQL cluster in {DataDirectory}", dataDirectory);
        await ProcessRunner.RunAsync(binaries.InitDb,
            ["-D", dataDirectory, "-A", "trust", "-U", SuperUser, "-E", "UTF8", "--locale=C"],
            asPostgresUser: true, cancellationToken).ConfigureAwait(false);
    }

    private static int? RunningPort(string dataDirectory)
    {
        // postmaster.pid line 4 is the port (PostgreSQL's documented layout of that file).
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        try
        {
            var lines = File.ReadAllLines(pidFile);
            return lines.Length > 3 && int.TryParse(lines[3], out var port) ? port : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static async Task<bool> IsRunningAsync(PostgresBinaries binaries, string dataDirectory, CancellationToken cancellationToken)
    {
        try
        {
            await ProcessRunner.RunAsync(binaries.PgCtl, ["-D", dataDirectory, "status"], asPostgresUser: true, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (EmbeddedPostgresException)
        {
            return false; // pg_ctl status exits 3 when no server runs (a stale pid file).
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string QuoteServerOption(string option) =>
        option.Length == 0 || option.Contains(' ') || option.EndsWith('=') ? $"'{option}'" : option;

    private static string QuoteIdentifier(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";
}
