using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MyChips.Data.Embedded;

/// <summary>
/// A private PostgreSQL cluster in a local directory, started on a loopback port: the site's database when no
/// connection string is configured, and every test's throwaway server.
/// </summary>
public sealed class EmbeddedPostgresCluster : IAsyncDisposable
{
    /// <summary>The superuser's password, in the data directory, mode 0600; the launcher reads it to connect.</summary>
    public const string SecretFileName = "mychips-secret";

    private const string SuperUser = "postgres";

    // Password logins only: nobody else on the machine gets in by connecting to the loopback port.
    private const string HbaConf = """
        # Written by mychips: password (scram-sha-256) logins only; the superuser's password is in mychips-secret.
        local   all             all                                     scram-sha-256
        host    all             all             127.0.0.1/32            scram-sha-256
        host    all             all             ::1/128                 scram-sha-256
        local   replication     all                                     scram-sha-256
        host    replication     all             127.0.0.1/32            scram-sha-256
        host    replication     all             ::1/128                 scram-sha-256

        """;

    private readonly PostgresBinaries _binaries;
    private readonly EmbeddedPostgresOptions _options;
    private readonly ILogger _logger;
    private string _password; // replaced once when an older cluster gets its password
    private int _stopped;

    private EmbeddedPostgresCluster(PostgresBinaries binaries, EmbeddedPostgresOptions options, string dataDirectory,
        int port, bool ownsServer, string password, ILogger logger)
    {
        _binaries = binaries;
        _password = password;
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
        Password = _password,
        Database = database,
    }.ConnectionString;

    /// <summary>
    /// Initialises the cluster if its directory is new, then starts it (or attaches to it if running). A cluster made
    /// by an older version (trust logins, no secret) gets a password and password-only logins on the way.
    /// </summary>
    public static async Task<EmbeddedPostgresCluster> StartAsync(EmbeddedPostgresOptions options, ILogger logger,
        CancellationToken cancellationToken)
    {
        var binaries = PostgresBinaries.Locate(options.BinDirectory);
        var dataDirectory = await PrepareDataDirectoryAsync(options.DataDirectory, cancellationToken).ConfigureAwait(false);

        if (!File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            await InitialiseAsync(binaries, dataDirectory, logger, cancellationToken).ConfigureAwait(false);
        }

        EmbeddedPostgresCluster cluster;
        if (RunningPort(dataDirectory) is { } runningPort && await IsRunningAsync(binaries, dataDirectory, cancellationToken).ConfigureAwait(false))
        {
            logger.LogInformation("Embedded PostgreSQL already running in {DataDirectory} on port {Port}; attaching", dataDirectory, runningPort);
            cluster = new EmbeddedPostgresCluster(binaries, options, dataDirectory, runningPort, ownsServer: false,
                ReadSecret(dataDirectory) ?? "", logger);
        }
        else
        {
            var port = await StartServerAsync(binaries, options, dataDirectory, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Embedded PostgreSQL started in {DataDirectory} on 127.0.0.1:{Port}", dataDirectory, port);
            cluster = new EmbeddedPostgresCluster(binaries, options, dataDirectory, port, ownsServer: true,
                ReadSecret(dataDirectory) ?? "", logger);
        }

        try
        {
            await cluster.SecureLegacyClusterAsync(cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<int> StartServerAsync(PostgresBinaries binaries, EmbeddedPostgresOptions options,
        string dataDirectory, CancellationToken cancellationToken)
    {
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
        return port;
    }

    /// <summary>
    /// A cluster initialised by an older version trusts every loopback login and has no secret: give the superuser a
    /// generated password (stored before logins need it, so a crash midway only repeats this), then allow password
    /// logins only and reload.
    /// </summary>
    private async Task SecureLegacyClusterAsync(CancellationToken cancellationToken)
    {
        if (ReadSecret(DataDirectory) is null)
        {
            var password = NewSecret();
            await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
            {
                try
                {
                    await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (NpgsqlException e) when (e is not PostgresException || e.SqlState is "28P01" or "28000")
                {
                    throw new EmbeddedPostgresException(
                        $"The embedded cluster in '{DataDirectory}' requires a password but its {SecretFileName} file is missing; restore that file (or move the cluster away to start afresh).");
                }

                // A SCRAM verifier, not the password: a statement log then never holds the secret.
                await using var alter = new NpgsqlCommand($"ALTER ROLE {SuperUser} PASSWORD '{ScramVerifier(password)}'", connection);
                await alter.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            WriteSecret(DataDirectory, password);
            _logger.LogWarning("Embedded PostgreSQL in {DataDirectory} trusted every local login; the superuser now has a password (in {SecretFile})",
                DataDirectory, SecretFileName);
            _password = password;
        }

        var hba = Path.Combine(DataDirectory, "pg_hba.conf");
        if (TrustsSomeone(await File.ReadAllTextAsync(hba, cancellationToken).ConfigureAwait(false)))
        {
            // Overwriting keeps the file's owner (postgres) and mode.
            await File.WriteAllTextAsync(hba, HbaConf.Replace("\r\n", "\n", StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
            await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var reload = new NpgsqlCommand("SELECT pg_reload_conf()", connection);
            await reload.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("Embedded PostgreSQL in {DataDirectory} now accepts password logins only", DataDirectory);
        }
    }

    private static bool TrustsSomeone(string hba) =>
        hba.Split('\n').Select(line => line.Split('#')[0].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Any(fields => fields.Length > 0 && fields.Contains("trust", StringComparer.OrdinalIgnoreCase));

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

    /// <summary>
    /// Checks the data directory and creates it (with any missing parents) without touching the mode of a folder
    /// we did not create. As root, the server runs as the postgres OS user, which must reach the directory: when it
    /// cannot, this says so rather than opening someone's folders to everybody.
    /// </summary>
    private static async Task<string> PrepareDataDirectoryAsync(string configured, CancellationToken cancellationToken)
    {
        string dataDirectory;
        try
        {
            dataDirectory = Path.GetFullPath(configured);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new EmbeddedDataDirectoryException($"The embedded data directory '{configured}' is not a usable path: {e.Message}");
        }

        if (File.Exists(dataDirectory))
        {
            throw new EmbeddedDataDirectoryException($"The embedded data directory '{dataDirectory}' is a file, not a folder; point --data-dir (Database:Embedded:DataDirectory) at a folder.");
        }

        var missing = new List<string>();
        var existing = dataDirectory;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                throw new EmbeddedDataDirectoryException($"The embedded data directory '{dataDirectory}' cannot be created: '{existing}' is a file.");
            }

            missing.Add(existing);
            existing = Path.GetDirectoryName(existing) ?? throw new EmbeddedDataDirectoryException($"The embedded data directory '{dataDirectory}' cannot be created.");
        }

        var serverUser = !OperatingSystem.IsWindows() && ProcessRunner.IsRoot;
        // An existing data directory will be owned by postgres; what it must reach is the folder holding it.
        var reach = existing == dataDirectory ? Path.GetDirectoryName(dataDirectory) ?? existing : existing;
        if (serverUser && !await PostgresUserCanReachAsync(reach, cancellationToken).ConfigureAwait(false))
        {
            throw new EmbeddedDataDirectoryException(
                $"The postgres OS user (the embedded server runs as postgres when mychips runs as root) cannot reach '{reach}', "
                + "so it cannot use a data directory there. Choose a --data-dir (Database:Embedded:DataDirectory) under folders "
                + "it can traverse (e.g. /var/lib/mychips), or give it access yourself; mychips does not change the modes of your folders.");
        }

        try
        {
            Directory.CreateDirectory(dataDirectory);
            if (serverUser && !OperatingSystem.IsWindows())
            {
                // Folders we made ourselves (not the data directory, which postgres will own) must let postgres through.
                foreach (var created in missing.Skip(1))
                {
                    var mode = File.GetUnixFileMode(created);
                    File.SetUnixFileMode(created, mode | UnixFileMode.OtherExecute);
                }
            }

            // Writable? (the secret is written here; a read-only file system fails now rather than halfway through).
            var probe = Path.Combine(dataDirectory, $".mychips-probe-{Environment.ProcessId}");
            await File.WriteAllTextAsync(probe, "", cancellationToken).ConfigureAwait(false);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EmbeddedDataDirectoryException($"The embedded data directory '{dataDirectory}' cannot be created or written: {e.Message}");
        }

        return dataDirectory;
    }

    private static async Task<bool> PostgresUserCanReachAsync(string directory, CancellationToken cancellationToken)
    {
        try
        {
            // access(2) as postgres: true only if every folder on the way can be traversed.
            await ProcessRunner.RunAsync("test", ["-x", directory], asPostgresUser: true, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (EmbeddedPostgresException)
        {
            return false;
        }
    }

    private static async Task InitialiseAsync(PostgresBinaries binaries, string dataDirectory, ILogger logger,
        CancellationToken cancellationToken)
    {
        if (Directory.EnumerateFileSystemEntries(dataDirectory).Any())
        {
            throw new EmbeddedPostgresException(
                $"'{dataDirectory}' is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away or point "
                + "the embedded data directory elsewhere.");
        }

        var asRoot = !OperatingSystem.IsWindows() && ProcessRunner.IsRoot;
        if (asRoot)
        {
            // The server runs as the postgres user, which must own its data directory.
            await ProcessRunner.RunAsync("chown", ["postgres:postgres", dataDirectory], asPostgresUser: false, cancellationToken).ConfigureAwait(false);
        }

        // initdb reads the password from a file; it lives in a private folder only for the run of initdb.
        var password = NewSecret();
        var passwordFolder = Directory.CreateTempSubdirectory("mychips-initdb-");
        try
        {
            var passwordFile = Path.Combine(passwordFolder.FullName, "pw");
            await File.WriteAllTextAsync(passwordFile, password + "\n", cancellationToken).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            if (asRoot)
            {
                await ProcessRunner.RunAsync("chown", ["-R", "postgres:postgres", passwordFolder.FullName], asPostgresUser: false, cancellationToken).ConfigureAwait(false);
            }

            logger.LogInformation("Initialising embedded PostgreSQL cluster in {DataDirectory}", dataDirectory);
            await ProcessRunner.RunAsync(binaries.InitDb,
                ["-D", dataDirectory, "-A", "scram-sha-256", "--pwfile", passwordFile, "-U", SuperUser, "-E", "UTF8", "--locale=C"],
                asPostgresUser: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            passwordFolder.Delete(recursive: true);
        }

        WriteSecret(dataDirectory, password);
    }

    private static string NewSecret() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? ReadSecret(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, SecretFileName);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    private static void WriteSecret(string dataDirectory, string password)
    {
        // Created 0600 from the start: the secret is never readable by others, not even for a moment.
        var path = Path.Combine(dataDirectory, SecretFileName);
        var temporary = path + ".new";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(Encoding.UTF8.GetBytes(password + "\n"));
            stream.Flush(flushToDisk: true);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite); // a leftover .new from a crash
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677), as <c>password_encryption</c> makes it.</summary>
    private static string ScramVerifier(string password)
    {
        const int iterations = 4096;
        var salt = RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var storedKey = SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8));
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
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
