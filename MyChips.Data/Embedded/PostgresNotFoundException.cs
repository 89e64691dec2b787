namespace MyChips.Data.Embedded;

/// <summary>No PostgreSQL server installation was found for the embedded cluster.</summary>
public sealed class PostgresNotFoundException(string? explicitDirectory)
    : Exception(explicitDirectory is null
        ? "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH, via pg_config or under "
          + "/usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: apt-get install postgresql) or give a "
          + "connection string with --db."
        : $"PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in '{explicitDirectory}'. Install "
          + "them (Debian/Ubuntu: apt-get install postgresql) or give a connection string with --db.")
{
    public const string Code = "postgres_not_found";
}
