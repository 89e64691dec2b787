using Dapper;
using Npgsql;

namespace MyChips.Data.Upgrade;

/// <summary>Reads and writes <c>mychips_meta.instances</c>: registration, heartbeats, drain requests, expiry.</summary>
public sealed class InstanceRegistry(NpgsqlDataSource dataSource)
{
    /// <summary>The channel NOTIFYed with a <see cref="DrainRequest"/> payload.</summary>
    public const string DrainChannel = "mychips_drain";

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

    /// <summary>
    /// Registers or refreshes the instance. A <c>draining</c> written by a drain request survives the heartbeat of a
    /// still-working instance, and is returned so the instance learns about it even without the NOTIFY.
    /// Returns null while <c>mychips_meta</c> does not exist yet (an empty database before its first migration).
    /// </summary>
    public async Task<RegisteredState?> HeartbeatAsync(InstanceHeartbeat beat, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (!await MetaExistsAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return await connection.QuerySingleAsync<RegisteredState>(new CommandDefinition(
            """
            INSERT INTO mychips_meta.instances AS i (id, host, pid, code_version, code_schema_version, listeners, state, reason)
            VALUES (@Id, @Host, @Pid, @CodeVersion, @CodeSchemaVersion, @Listeners::jsonb, @State, @Reason)
            ON CONFLICT (id) DO UPDATE
               SET heartbeat_at = now(),
                   listeners = EXCLUDED.listeners,
                   state = CASE WHEN i.state = 'draining' AND EXCLUDED.state IN ('starting', 'holding', 'serving')
                                THEN i.state ELSE EXCLUDED.state END,
                   reason = CASE WHEN i.state = 'draining' AND EXCLUDED.state IN ('starting', 'holding', 'serving')
                                 THEN i.reason ELSE EXCLUDED.reason END
            RETURNING state, reason
            """, beat, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Marks rows whose heartbeat is older than <paramref name="expiry"/> as stopped: their process is gone.</summary>
    public async Task<int> ExpireStaleAsync(TimeSpan expiry, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE mychips_meta.instances
               SET state = 'stopped', reason = 'heartbeat expired (last ' || to_char(heartbeat_at, 'YYYY-MM-DD HH24:MI:SS') || ')'
             WHERE state <> 'stopped' AND heartbeat_at < now() - make_interval(secs => @seconds)
            """, new { seconds = expiry.TotalSeconds }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the rows of instances stopped (or expired, see <see cref="ExpireStaleAsync"/>) longer than
    /// <paramref name="retention"/> ago. One statement: instances pruning at once delete each row once.
    /// </summary>
    public async Task<int> PruneStoppedAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM mychips_meta.instances WHERE state = 'stopped' AND heartbeat_at < now() - make_interval(secs => @seconds)",
            new { seconds = retention.TotalSeconds }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Writes the final state of an instance that is exiting.</summary>
    public async Task MarkAsync(Guid id, string state, string? reason, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE mychips_meta.instances SET state = @state, reason = @reason, heartbeat_at = now() WHERE id = @id",
            new { id, state, reason }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Asks the matching working instances to drain: marks their rows <c>draining</c> and NOTIFYs them, in one
    /// transaction. Returns the ids of the instances asked (none: nobody was notified).
    /// </summary>
    public async Task<IReadOnlyList<Guid>> RequestDrainAsync(DrainRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var ids = (await connection.QueryAsync<Guid>(new CommandDefinition(
            """
            UPDATE mychips_meta.instances
               SET state = 'draining', reason = @Reason
             WHERE state IN ('starting', 'holding', 'serving')
               AND (id = @Instance OR code_schema_version < @OlderThan)
            RETURNING id
            """, request, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        if (ids.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_notify(@channel, @payload)",
                new { channel = DrainChannel, payload = request.ToPayload() }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ids;
    }

    /// <summary>
    /// How many instances older than <paramref name="codeSchemaVersion"/> may still write: not stopped or fenced,
    /// with a heartbeat fresher than <paramref name="expiry"/>.
    /// </summary>
    public async Task<int> CountLiveOlderThanAsync(int codeSchemaVersion, TimeSpan expiry, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            """
            SELECT count(*)::int FROM mychips_meta.instances
             WHERE code_schema_version < @codeSchemaVersion
               AND state NOT IN ('stopped', 'fenced')
               AND heartbeat_at > now() - make_interval(secs => @seconds)
            """, new { codeSchemaVersion, seconds = expiry.TotalSeconds }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private static Task<bool> MetaExistsAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT to_regclass('mychips_meta.instances') IS NOT NULL", cancellationToken: cancellationToken));
}
