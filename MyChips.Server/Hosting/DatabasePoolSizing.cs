using System.Data.Common;
using System.Globalization;
using Npgsql;

namespace MyChips.Server.Hosting;

/// <summary>
/// Keeps the Npgsql pool of an instance below what the PostgreSQL server allows, with room left for operators
/// (psql, backups, other instances' start-up). The budget is <c>max_connections − superuser_reserved_connections −
/// reserved_connections</c> less a headroom of a tenth of it (at least 5). A <c>Maximum Pool Size</c> set in the
/// connection string above the budget stops the start as a configuration error; without one, the pool's maximum
/// is Npgsql's 100 or the budget, whichever is smaller. Several instances share the server: each should get at
/// most the budget divided by their number (README, "Database connections"), which no single instance can check.
/// </summary>
internal static class DatabasePoolSizing
{
    public const string Key = "Database:ConnectionString";

    private const int NpgsqlDefaultMaximum = 100;

    public static async Task<string> ApplyAsync(string connectionString, ILogger logger, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!builder.Pooling)
            return connectionString;
        var explicitMaximum = IsMaximumSet(connectionString);

        // One unpooled connection: the check itself leaves nothing open.
        var probe = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(probe.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int,
                   coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0)
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var (max, superuser, reserved) = (reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2));
        var available = max - superuser - reserved;
        var budget = Budget(available);
        var where = $"max_connections {max}, superuser_reserved_connections {superuser}, reserved_connections {reserved}";
        if (budget < 1)
            throw new ConfigurationException($"{Key}: the PostgreSQL server allows too few connections for a site ({where}); raise max_connections.");
        if (explicitMaximum)
        {
            if (builder.MaxPoolSize > budget)
            {
                throw new ConfigurationException(string.Create(CultureInfo.InvariantCulture,
                    $"{Key}: Maximum Pool Size {builder.MaxPoolSize} leaves too little of the server's connections ({where}) for operators; at most {budget} (the rest less a tenth, at least 5, of headroom)."));
            }

            return connectionString;
        }

        if (budget >= NpgsqlDefaultMaximum)
            return connectionString;
        logger.LogInformation("Database pool limited to {Maximum} connections ({Where}; headroom kept for operators)", budget, where);
        builder.MaxPoolSize = budget;
        if (builder.MinPoolSize > budget)
            builder.MinPoolSize = budget;
        return builder.ConnectionString;
    }

    /// <summary>The most connections one instance's pool may hold when <paramref name="available"/> are usable by non-superusers.</summary>
    public static int Budget(int available) => available - Math.Max(5, available / 10);

    private static bool IsMaximumSet(string connectionString)
    {
        // Npgsql's builder reports a default as set; the raw keys tell. Npgsql matches keywords ignoring case and spaces.
        var raw = new DbConnectionStringBuilder { ConnectionString = connectionString };
        foreach (string key in raw.Keys)
        {
            var bare = key.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant();
            if (bare is "maximumpoolsize" or "maxpoolsize")
                return true;
        }

        return false;
    }
}
