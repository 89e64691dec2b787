using Npgsql;

namespace MyChips.Data.Retention;

/// <summary>What one pruning run deleted, per table; <see cref="Skipped"/> when another instance was pruning.</summary>
public sealed record RetentionResult(bool Skipped, IReadOnlyDictionary<string, long> Deleted, int Batches)
{
    public long Total => Deleted.Values.Sum();
}

/// <summary>
/// Deletes rows that are done with and older than their retention (<see cref="RetentionOptions"/>). One instance at a
/// time: the run holds the session advisory lock <see cref="AdvisoryLockKeys.Retention"/> and another instance that finds
/// it taken skips its run. Rows go in batches of <see cref="RetentionOptions.BatchSize"/>, each its own short application
/// transaction (<see cref="SiteTransactions"/>: under the upgrade fence), so no run holds locks for long; a run stops
/// after <see cref="MaxBatchesPerTable"/> batches per table and the next run continues.
/// </summary>
public sealed class RetentionPruner(SiteTransactions transactions)
{
    /// <summary>Bounds one run: a large backlog is worked off over several runs.</summary>
    public const int MaxBatchesPerTable = 1000;

    // Each statement deletes at most @batch rows past @keep. SKIP LOCKED: a row some transaction holds is left for later.
    private static readonly (string Table, string Sql, Func<RetentionOptions, TimeSpan> Keep)[] Tables =
    [
        ("tokens", """
            DELETE FROM mychips.tokens WHERE token_id IN (
                SELECT token_id FROM mychips.tokens WHERE expires_at < now() - @keep LIMIT @batch FOR UPDATE SKIP LOCKED)
            """, o => o.Tokens),
        ("outbox", """
            DELETE FROM mychips.outbox WHERE outbox_id IN (
                SELECT outbox_id FROM mychips.outbox
                WHERE (sent_at IS NOT NULL OR gave_up_at IS NOT NULL) AND coalesce(sent_at, gave_up_at) < now() - @keep
                LIMIT @batch FOR UPDATE SKIP LOCKED)
            """, o => o.Outbox),
        ("received_messages", """
            DELETE FROM mychips.received_messages WHERE message_id IN (
                SELECT message_id FROM mychips.received_messages WHERE received_at < now() - @keep LIMIT @batch FOR UPDATE SKIP LOCKED)
            """, o => o.ReceivedMessages),
        ("user_events", """
            DELETE FROM mychips.user_events WHERE event_id IN (
                SELECT event_id FROM mychips.user_events WHERE created_at < now() - @keep LIMIT @batch FOR UPDATE SKIP LOCKED)
            """, o => o.UserEvents),
        ("redemptions", """
            DELETE FROM mychips.redemptions WHERE redemption_id IN (
                SELECT redemption_id FROM mychips.redemptions WHERE coalesce(used_at, expires_at) < now() - @keep LIMIT @batch FOR UPDATE SKIP LOCKED)
            """, o => o.Redemptions),
    ];

    /// <summary>Runs once over every table; returns <c>Skipped</c> at once if another session holds the pruning lock.</summary>
    public async Task<RetentionResult> RunAsync(RetentionOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        await using var lockConnection = await transactions.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", lockConnection) { Parameters = { new() { Value = AdvisoryLockKeys.Retention } } })
        {
            if (!(bool)(await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
                return new RetentionResult(true, new Dictionary<string, long>(), 0);
        }

        try
        {
            var deleted = new Dictionary<string, long>(StringComparer.Ordinal);
            var batches = 0;
            foreach (var (table, sql, keep) in Tables)
            {
                long total = 0;
                for (var i = 0; i < MaxBatchesPerTable; i++)
                {
                    var count = await transactions.RunAsync(async (connection, transaction) =>
                    {
                        await using var command = new NpgsqlCommand(sql, connection, transaction)
                        {
                            Parameters = { new("keep", keep(options)), new("batch", options.BatchSize) },
                        };
                        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }, cancellationToken).ConfigureAwait(false);
                    batches++;
                    total += count;
                    if (count < options.BatchSize)
                        break;
                }

                deleted[table] = total;
            }

            return new RetentionResult(false, deleted, batches);
        }
        finally
        {
            // Closing the connection would release it too; unlocking first returns a clean connection to the pool.
            try
            {
                await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection) { Parameters = { new() { Value = AdvisoryLockKeys.Retention } } };
                await release.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // A broken connection is discarded by the pool, and the lock goes with its session.
            }
        }
    }
}
