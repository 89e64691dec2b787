using MyChips.Data;
using MyChips.Data.Schema;
using MyChips.Server.Hosting;
using Npgsql;

namespace MyChips.Server.Cli;

/// <summary>The database side of a one-shot verb: the lease (embedded or configured), a data source and the schema.</summary>
internal sealed class SiteDatabaseSession : IAsyncDisposable
{
    private SiteDatabaseSession(SiteDatabaseLease lease, NpgsqlDataSource dataSource, SchemaMigrator migrator)
    {
        Lease = lease;
        DataSource = dataSource;
        Migrator = migrator;
    }

    public SiteDatabaseLease Lease { get; }

    public NpgsqlDataSource DataSource { get; }

    public SchemaMigrator Migrator { get; }

    public static async Task<SiteDatabaseSession> OpenAsync(Dictionary<string, string?> flags, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var configuration = SiteConfiguration.Build(flags);
        var database = configuration.Bind<DatabaseOptions>(DatabaseOptions.Section);
        if (SiteSettingsValidation.DatabaseFailures(database).ToList() is [_, ..] failures)
            throw new ConfigurationException(string.Join("; ", failures));
        var schema = configuration.Bind<SchemaOptions>("Schema");
        var migrations = schema.LoadMigrations();
        var lease = await SiteDatabaseLease.AcquireAsync(database, loggers.CreateLogger("mychips"), cancellationToken).ConfigureAwait(false);
        var dataSource = NpgsqlDataSource.Create(lease.ConnectionString);
        return new SiteDatabaseSession(lease, dataSource,
            new SchemaMigrator(dataSource, migrations, schema, loggers.CreateLogger<SchemaMigrator>()));
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync().ConfigureAwait(false);
        await Lease.DisposeAsync().ConfigureAwait(false);
    }
}
