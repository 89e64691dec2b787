using Microsoft.Extensions.Logging;
using MyChips.Data.Embedded;

namespace MyChips.Data;

/// <summary>
/// The site database's connection string for as long as a process needs it; for the embedded cluster it also
/// owns the server, which it stops on disposal if it started it.
/// </summary>
public sealed class SiteDatabaseLease : IAsyncDisposable
{
    private SiteDatabaseLease(string connectionString, EmbeddedPostgresCluster? cluster)
    {
        ConnectionString = connectionString;
        Cluster = cluster;
    }

    public string ConnectionString { get; }

    /// <summary>The embedded cluster, or null for a configured server.</summary>
    public EmbeddedPostgresCluster? Cluster { get; }

    public static async Task<SiteDatabaseLease> AcquireAsync(DatabaseOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        if (!options.UsesEmbeddedCluster)
        {
            return new SiteDatabaseLease(options.ConnectionString!, null);
        }

        var cluster = await EmbeddedPostgresCluster.StartAsync(options.Embedded, logger, cancellationToken).ConfigureAwait(false);
        try
        {
            await cluster.EnsureDatabaseAsync(options.EmbeddedDatabase, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new SiteDatabaseLease(cluster.ConnectionString(options.EmbeddedDatabase), cluster);
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync().ConfigureAwait(false);
        }
    }
}
