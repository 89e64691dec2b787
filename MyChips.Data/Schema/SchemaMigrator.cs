using System.Diagnostics;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MyChips.Data.Schema;

/// <summary>
/// Reads the schema state and applies pending migrations, each in its own transaction, as the one leader that holds
/// the migration advisory lock (DESIGN.md 4.2, 4.3). Any number of processes may call it at once.
/// </summary>
public sealed class SchemaMigrator(NpgsqlDataSource dataSource, MigrationSet code, SchemaOptions options, ILogger<SchemaMigrator> logger)
{
    /// <summary>The channel NOTIFYed after every change of the version row.</summary>
    public const string NotifyChannel = "mychips_schema";

    public MigrationSet Code => code;

    public async Task<SchemaSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies every pending migration, or waits while another process does. Returns once the database is at
    /// least at this code's version.
    /// </summary>
    /// <param name="appliedBy">Who is recorded as having applied the migrations (instance id, host and pid).</param>
    /// <param name="leader">The instance id recorded as leader in the version row.</param>
    /// <param name="beforeContract">Called as leader before each contract migration (drain old instances).</param>
    /// <exception cref="SchemaException">The database and this code do not fit (edited migration, code too old).</exception>
    public async Task<MigrationOutcome> MigrateAsync(string appliedBy, Guid leader,
        Func<Migration, CancellationToken, Task>? beforeContract, CancellationToken cancellationToken)
    {
        // A dedicated connection: the session-level advisory lock lives and dies with it, so a leader that dies
        // releases leadership and rolls back its open migration at once.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await WatchClientAsync(connection, cancellationToken).ConfigureAwait(false);
        // Woken by the leader's NOTIFY when it is done; the poll interval is the fallback.
        await connection.ExecuteAsync($"LISTEN {NotifyChannel}").ConfigureAwait(false);
        while (true)
        {
            var snapshot = await ReadAsync(connection, cancellationToken).ConfigureAwait(false);
            snapshot.EnsureConsistent();
            if (!snapshot.Pending.Any())
            {
                return new MigrationOutcome([], null, snapshot);
            }

            // Polled, never blocking: a blocking lock would deadlock with CREATE INDEX CONCURRENTLY.
            if (await connection.ExecuteScalarAsync<bool>("SELECT pg_try_advisory_lock(@key)", new { key = AdvisoryLockKeys.Migration }).ConfigureAwait(false))
            {
                break;
            }

            await connection.WaitAsync(options.LeaderPollInterval, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await LeadAsync(connection, appliedBy, leader, beforeContract, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(@key)", new { key = AdvisoryLockKeys.Migration }).ConfigureAwait(false);
            }
        }
    }

    private async Task<MigrationOutcome> LeadAsync(NpgsqlConnection connection, string appliedBy, Guid leader,
        Func<Migration, CancellationToken, Task>? beforeContract, CancellationToken cancellationToken)
    {
        // Re-read under the lock: the previous leader may have finished while we polled.
        var snapshot = await ReadAsync(connection, cancellationToken).ConfigureAwait(false);
        snapshot.EnsureConsistent();
        var pending = snapshot.Pending.ToList();
        if (pending.Count == 0)
        {
            // Nothing to do; we hold the lock, so nobody is migrating: a 'migrating' row is a dead leader's leftover.
            if (snapshot.State.Phase == SchemaPhases.Migrating)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    $"UPDATE mychips_meta.schema_state SET phase = 'stable', updated_at = clock_timestamp(); NOTIFY {NotifyChannel}, 'stable'",
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
                logger.LogWarning("Schema version row was left 'migrating' by leader {Leader} (epoch {Epoch}); set back to stable at version {Version}",
                    snapshot.State.Leader, snapshot.State.Epoch, snapshot.State.Version);
                snapshot = await ReadAsync(connection, cancellationToken).ConfigureAwait(false);
            }

            return new MigrationOutcome([], null, snapshot);
        }

        var applied = new List<Migration>();
        long? epoch = null;
        foreach (var migration in pending)
        {
            epoch ??= await BeginLeadershipAsync(connection, leader, cancellationToken).ConfigureAwait(false);
            if (migration.Mode == MigrationMode.Contract && beforeContract is not null)
            {
                await beforeContract(migration, cancellationToken).ConfigureAwait(false);
            }

            // The last one sets the phase back to stable in its own transaction: a leader that dies right after that
            // commit leaves nothing to repair.
            await ApplyAsync(connection, migration, appliedBy, last: ReferenceEquals(migration, pending[^1]), cancellationToken).ConfigureAwait(false);
            applied.Add(migration);
        }

        logger.LogInformation("Schema is at version {Version} (epoch {Epoch}); applied {Count} migration(s)",
            pending[^1].Number, epoch, applied.Count);
        return new MigrationOutcome(applied, epoch, await ReadAsync(connection, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Sets a version row left <c>migrating</c> back to stable when its leader is gone: no instance row of the leader
    /// with a heartbeat fresher than <paramref name="heartbeatExpiry"/>, and nobody holds the migration lock (a live
    /// leader always does). Left behind by an upgrade abandoned mid-way (its leader killed or failed, the old instances
    /// restarted). Returns whether it repaired the row; safe to call from any number of instances at once.
    /// </summary>
    public async Task<bool> RepairAbandonedPhaseAsync(TimeSpan heartbeatExpiry, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (!await MetaExistsAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        const string abandoned = """
            phase = 'migrating'
            AND NOT EXISTS (SELECT 1 FROM mychips_meta.instances i
                             WHERE i.id = s.leader AND i.state NOT IN ('stopped', 'fenced')
                               AND i.heartbeat_at > now() - make_interval(secs => @seconds))
            """;
        var seconds = heartbeatExpiry.TotalSeconds;
        // The usual answer (stable) costs one read and takes no lock, so a polling leader is never kept waiting.
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                $"SELECT EXISTS (SELECT 1 FROM mychips_meta.schema_state s WHERE {abandoned})", new { seconds },
                cancellationToken: cancellationToken)).ConfigureAwait(false))
        {
            return false;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_xact_lock(@key)",
                new { key = AdvisoryLockKeys.Migration }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false))
        {
            return false; // a leader is at work (or another instance is repairing)
        }

        var repaired = await connection.QuerySingleOrDefaultAsync<SchemaState>(new CommandDefinition(
            $"""
            UPDATE mychips_meta.schema_state s SET phase = 'stable', updated_at = clock_timestamp() WHERE {abandoned}
            RETURNING version, min_code_version AS MinCodeVersion, phase, leader, epoch, updated_at AS UpdatedAt
            """, new { seconds }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition($"NOTIFY {NotifyChannel}, 'stable'", transaction: transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (repaired is null)
        {
            return false;
        }

        logger.LogWarning("Schema version row was left 'migrating' by leader {Leader} (epoch {Epoch}), which is gone (no fresh heartbeat, "
            + "no migration lock); set back to stable at version {Version}", repaired.Leader, repaired.Epoch, repaired.Version);
        return true;
    }

    // Null while mychips_meta does not exist yet: the first migration creates it, then leadership is recorded.
    private static async Task<long?> BeginLeadershipAsync(NpgsqlConnection connection, Guid leader, CancellationToken cancellationToken)
    {
        if (!await MetaExistsAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "UPDATE mychips_meta.schema_state SET phase = 'migrating', leader = @leader, epoch = epoch + 1, updated_at = now() RETURNING epoch",
            new { leader }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private async Task ApplyAsync(NpgsqlConnection connection, Migration migration, string appliedBy, bool last, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var stopwatch = Stopwatch.StartNew();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var lockTimeoutMs = ((int)options.LockTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
                await connection.ExecuteAsync($"SET LOCAL lock_timeout = {lockTimeoutMs}", transaction: transaction).ConfigureAwait(false);
                if (migration.Mode == MigrationMode.Contract)
                {
                    // Waits for application transactions in flight; new ones queue behind it (DESIGN.md 4.4).
                    await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", new { key = AdvisoryLockKeys.Fence }, transaction).ConfigureAwait(false);
                }

                await using (var command = new NpgsqlCommand(migration.Sql, connection, transaction))
                {
                    command.CommandTimeout = 0;
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                // applied_at is when the migration finished (now() would be its transaction's start), and
                // duration_ms the time from that start, so applied_at - duration_ms is when it began.
                await connection.ExecuteAsync(
                    """
                    INSERT INTO mychips_meta.migrations (number, name, sha256, mode, applied_at, duration_ms, applied_by)
                    SELECT @Number, @Name, @Sha256, @Mode, done.at, round(extract(epoch FROM done.at - now()) * 1000)::int, @AppliedBy
                      FROM (SELECT clock_timestamp() AS at) AS done;
                    UPDATE mychips_meta.schema_state
                       SET version = greatest(version, @Number),
                           min_code_version = CASE WHEN @Mode = 'contract' THEN greatest(min_code_version, @Number) ELSE min_code_version END,
                           phase = CASE WHEN @Last THEN 'stable' ELSE phase END,
                           updated_at = clock_timestamp();
                    """,
                    new
                    {
                        migration.Number,
                        migration.Name,
                        migration.Sha256,
                        Mode = migration.Mode == MigrationMode.Contract ? "contract" : "expand",
                        AppliedBy = appliedBy,
                        Last = last,
                    }, transaction).ConfigureAwait(false);
                await connection.ExecuteAsync($"NOTIFY {NotifyChannel}, '{migration.Number}'", transaction: transaction).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Applied migration {Migration} ({Mode}) in {Elapsed} ms",
                    migration.FileName, migration.Mode, stopwatch.ElapsedMilliseconds);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable && attempt < options.LockTimeoutRetries)
            {
                await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                var backoff = TimeSpan.FromMilliseconds(Math.Min(2000, 50 * Math.Pow(2, attempt)));
                logger.LogWarning("Migration {Migration} hit its lock timeout (attempt {Attempt}); retrying in {Backoff} ms",
                    migration.FileName, attempt + 1, backoff.TotalMilliseconds);
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // A backend notices a vanished client only when it next talks to it; a leader killed during a long statement
    // would keep its transaction and the leader lock until the statement ends. Checking the socket every second
    // rolls it back and frees the lock promptly, so the next leader takes over (PostgreSQL 14+, Linux).
    private async Task WatchClientAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT set_config('client_connection_check_interval', @ms, false)",
                new { ms = ((int)options.LeaderConnectionCheckInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch (PostgresException e)
        {
            logger.LogDebug("client_connection_check_interval is not available: {Message}", e.MessageText);
        }
    }

    // The version row and the migration rows are read in one snapshot: read apart, a leader's commit between the two
    // reads gives a state that never existed (all migrations applied, version still old).
    private async Task<SchemaSnapshot> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        if (!await MetaExistsAsync(connection, cancellationToken).ConfigureAwait(false))
        {
            return new SchemaSnapshot(SchemaState.Empty, [], code);
        }

        var state = await connection.QuerySingleAsync<SchemaState>(new CommandDefinition(
            "SELECT version, min_code_version AS MinCodeVersion, phase, leader, epoch, updated_at AS UpdatedAt FROM mychips_meta.schema_state",
            transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var applied = await connection.QueryAsync<AppliedMigration>(new CommandDefinition(
            """
            SELECT number, name, sha256, mode, applied_at AS AppliedAt, duration_ms AS DurationMs, applied_by AS AppliedBy
              FROM mychips_meta.migrations ORDER BY number
            """, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new SchemaSnapshot(state, applied.AsList(), code);
    }

    private static Task<bool> MetaExistsAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT to_regclass('mychips_meta.migrations') IS NOT NULL", cancellationToken: cancellationToken));
}
