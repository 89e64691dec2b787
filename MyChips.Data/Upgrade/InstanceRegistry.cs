using Dapper;
using Npgsql;

namespace MyChips.Data.Upgrade;

/// <summary>Reads and writes <c>mychips_meta.instances</c>.</summary>
public sealed class InstanceRegistry(NpgsqlDataSource dataSource)
{
    public async Task<IReadOnlyList<InstanceRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (!await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('mychips_meta.instances') IS NOT NULL").ConfigureAwait(false))
        {
            return [];
        }

        var rows = await connection.QueryAsync<InstanceRecord>(new CommandDefinition(
            """
            SELECT id, host, pid, code_version AS CodeVersion, code_schema_version AS CodeSchemaVersion,
                   listeners::text AS Listeners, state, reason, started_at AS StartedAt, heartbeat_at AS HeartbeatAt,
                   extract(epoch FROM now() - heartbeat_at)::float8 AS HeartbeatAgeSeconds
              FROM mychips_meta.instances
             ORDER BY started_at
            """, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.AsList();
    }
}
