using Microsoft.Extensions.Logging.Abstractions;
using MyChips.Data.Embedded;
using Npgsql;

namespace MyChips.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster started through the product's own embedded launcher, one per test collection;
/// each test class takes a fresh database from it.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mychips-test-" + Guid.NewGuid().ToString("N")[..12]);
    private EmbeddedPostgresCluster? _cluster;
    private int _databases;

    public EmbeddedPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        var options = new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(_directory, "pg"),
            Durable = false,
        };
        options.Settings["max_connections"] = "400";
        _cluster = await EmbeddedPostgresCluster.StartAsync(options, NullLogger.Instance, CancellationToken.None);
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}".ToLowerInvariant();
        await Cluster.EnsureDatabaseAsync(name, CancellationToken.None);
        return Cluster.ConnectionString(name);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }
}
