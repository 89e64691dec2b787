using Npgsql;

namespace MyChips.Data;

/// <summary>
/// Runs every application state change as one PostgreSQL transaction under the fence (DESIGN.md 3, 4.4): it takes
/// the fence lock shared, so a contract migration (which takes it exclusively) waits for it and it waits for the
/// migration, and it checks this code's schema version against <c>min_code_version</c> before any write.
/// </summary>
public sealed class SiteTransactions(NpgsqlDataSource dataSource, SiteCodeVersion code)
{
    /// <summary>Raised once a transaction was refused because this code is too old; the instance fences itself.</summary>
    public event Action<FencedException>? Fenced;

    public NpgsqlDataSource DataSource => dataSource;

    /// <summary>Runs <paramref name="work"/> in one transaction and commits it, or rolls it back on any exception.</summary>
    /// <exception cref="FencedException">The database requires newer code; nothing was written.</exception>
    public async Task<T> RunAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var minCodeVersion = await EnterFenceAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        if (minCodeVersion > code.SchemaVersion)
        {
            var refusal = new FencedException(code.SchemaVersion, minCodeVersion);
            Fenced?.Invoke(refusal);
            throw refusal;
        }

        var result = await work(connection, transaction).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    // Two statements of one batch: under READ COMMITTED the second takes its snapshot after the lock is granted,
    // so it sees a contract migration that committed while we waited.
    private static async Task<int> EnterFenceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock_shared($1)") { Parameters = { new() { Value = AdvisoryLockKeys.Fence } } },
                new NpgsqlBatchCommand("SELECT min_code_version FROM mychips_meta.schema_state"),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return reader.GetInt32(0);
    }

    public Task RunAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task> work, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            await work(connection, transaction).ConfigureAwait(false);
            return true;
        }, cancellationToken);
}
