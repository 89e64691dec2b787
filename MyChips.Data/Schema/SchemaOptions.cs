namespace MyChips.Data.Schema;

/// <summary>How the schema manager applies migrations.</summary>
public sealed class SchemaOptions
{
    /// <summary>A directory of migrations to use instead of the embedded ones (tests, operators' hotfixes).</summary>
    public string? MigrationsDirectory { get; set; }

    /// <summary>
    /// Cut the code's migration set at this version, as if this build were that older code (tests of upgrades).
    /// </summary>
    public int? CodeSchemaVersion { get; set; }

    /// <summary><c>SET LOCAL lock_timeout</c> of every migration, so DDL never queues all queries for long.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times a migration that hit its lock timeout is retried, with backoff.</summary>
    public int LockTimeoutRetries { get; set; } = 20;

    /// <summary>How often a waiting process asks again for the migration lock.</summary>
    public TimeSpan LeaderPollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often the leader's backend checks that the leader is still connected while a migration runs.</summary>
    public TimeSpan LeaderConnectionCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    public MigrationSet LoadMigrations()
    {
        var set = MigrationsDirectory is null ? MigrationSet.Embedded() : MigrationSet.FromDirectory(MigrationsDirectory);
        return CodeSchemaVersion is { } version ? set.UpTo(version) : set;
    }
}
