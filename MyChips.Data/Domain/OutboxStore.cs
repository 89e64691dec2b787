using System.Text.Json.Nodes;
using Dapper;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>
/// The sender's side of <c>mychips.outbox</c> (DESIGN.md 3). A row is in flight from a send until its receipt comes
/// back (<c>sent_at</c>); when none comes before <c>next_attempt_at</c> it is due again, with the wait doubling per
/// try, and after the try limit it is given up. A peer whose oldest pending row is due gets all its pending rows again,
/// in outbox_id order (go-back-N: the receiver drops what it has by id), so a peer sees our messages in order.
/// </summary>
public sealed class OutboxStore(SiteTransactions transactions)
{
    /// <summary>Claims up to <paramref name="limit"/> rows of peers that are due; each is stamped as tried once more.</summary>
    public Task<IReadOnlyList<OutboxItem>> ClaimAsync(int limit, TimeSpan receiptTimeout, TimeSpan maxWait, CancellationToken cancellationToken) =>
        transactions.RunAsync<IReadOnlyList<OutboxItem>>(async (connection, transaction) =>
        {
            // One claimer at a time per site keeps a peer's rows in one sender's order; SKIP LOCKED passes rows a
            // receipt is updating right now (they are delivered, or due next round).
            if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_xact_lock(@key)",
                    new { key = AdvisoryLockKeys.Outbox }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false))
                return [];
            var rows = await connection.QueryAsync<(long Id, string Peer, string Key, string Message, int Attempts)>(new CommandDefinition(
                """
                WITH due AS (
                    SELECT h.peer_agent FROM (
                        SELECT DISTINCT ON (peer_agent) peer_agent, next_attempt_at FROM mychips.outbox
                        WHERE sent_at IS NULL AND gave_up_at IS NULL ORDER BY peer_agent, outbox_id) h
                    WHERE h.next_attempt_at <= now()),
                claimed AS (
                    SELECT o.outbox_id FROM mychips.outbox o JOIN due USING (peer_agent)
                    WHERE o.sent_at IS NULL AND o.gave_up_at IS NULL
                    ORDER BY o.outbox_id LIMIT @limit FOR UPDATE OF o SKIP LOCKED)
                UPDATE mychips.outbox o SET attempts = o.attempts + 1,
                    next_attempt_at = now() + least(@timeout * power(2, least(o.attempts, 20)), @maxWait)
                FROM claimed WHERE o.outbox_id = claimed.outbox_id
                RETURNING o.outbox_id, o.peer_agent, o.idempotency_key, o.message::text, o.attempts
                """, new { limit, timeout = receiptTimeout, maxWait }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return rows.OrderBy(r => r.Id)
                .Select(r => new OutboxItem(r.Id, r.Peer, r.Key, (JsonObject)JsonNode.Parse(r.Message)!, r.Attempts)).ToList();
        }, cancellationToken);

    /// <summary>Gives up rows tried <paramref name="maxTries"/> times without a receipt; returns them for the log.</summary>
    public Task<IReadOnlyList<(long OutboxId, string PeerAgent, string Key)>> GiveUpAsync(int maxTries, CancellationToken cancellationToken) =>
        transactions.RunAsync<IReadOnlyList<(long, string, string)>>(async (connection, transaction) =>
            (await connection.QueryAsync<(long, string, string)>(new CommandDefinition(
                """
                UPDATE mychips.outbox SET gave_up_at = now(),
                    last_error = coalesce(last_error || '; ', '') || 'no receipt after ' || attempts || ' tries'
                WHERE sent_at IS NULL AND gave_up_at IS NULL AND attempts >= @maxTries AND next_attempt_at <= now()
                RETURNING outbox_id, peer_agent, idempotency_key
                """, new { maxTries }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList(), cancellationToken);

    /// <summary>The peer's receipt: delivered (<paramref name="refusal"/> null) or refused by it, which is final.</summary>
    public Task<bool> ReceiptAsync(string peerAgent, string key, string? refusal, CancellationToken cancellationToken) =>
        transactions.RunAsync(async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
            refusal is null
                ? "UPDATE mychips.outbox SET sent_at = now() WHERE idempotency_key = @key AND peer_agent = @peerAgent AND sent_at IS NULL"
                : """
                  UPDATE mychips.outbox SET gave_up_at = now(), last_error = 'refused by the peer: ' || @refusal
                  WHERE idempotency_key = @key AND peer_agent = @peerAgent AND sent_at IS NULL AND gave_up_at IS NULL
                  """,
            new { key, peerAgent, refusal }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false) == 1, cancellationToken);

    /// <summary>Records why a send failed locally (no address, invalid agent); the row stays due for its next try.</summary>
    public Task RecordErrorAsync(long outboxId, string error, CancellationToken cancellationToken) =>
        transactions.RunAsync(async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE mychips.outbox SET last_error = @error WHERE outbox_id = @outboxId",
            new { outboxId, error }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false), cancellationToken);

    /// <summary>When the first peer's oldest pending row becomes due (null when nothing is pending), to sleep until then.</summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await transactions.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var next = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            """
            SELECT min(next_attempt_at) FROM (SELECT DISTINCT ON (peer_agent) next_attempt_at FROM mychips.outbox
                WHERE sent_at IS NULL AND gave_up_at IS NULL ORDER BY peer_agent, outbox_id) heads
            """,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return next is { } n ? new DateTimeOffset(DateTime.SpecifyKind(n, DateTimeKind.Utc)) : null;
    }
}
