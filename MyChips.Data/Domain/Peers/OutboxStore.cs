using System.Text.Json.Nodes;
using Dapper;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>
/// The sender's side of <c>mychips.outbox</c> (DESIGN.md 3). A row is in flight from a send until its receipt comes
/// back (<c>sent_at</c>); when none comes before <c>next_attempt_at</c> it is due again, with the wait doubling per
/// try, and after the try limit it is given up. Rows are claimed and sent in outbox_id order, so over the one
/// connection to a peer its messages arrive in the order they were written; a re-sent one may arrive after later ones,
/// which the receiver's context guard and chain consensus absorb (and its id makes a second copy a no-op).
/// </summary>
public sealed class OutboxStore(SiteTransactions transactions)
{
    /// <summary>
    /// Claims up to <paramref name="limit"/> due rows, at most <paramref name="window"/> in flight per peer (so a backlog
    /// waits here rather than in a socket queue, where it would outlive its receipt timeout); each is stamped as tried.
    /// </summary>
    public Task<IReadOnlyList<OutboxItem>> ClaimAsync(int limit, int window, TimeSpan receiptTimeout, TimeSpan maxWait, CancellationToken cancellationToken) =>
        transactions.RunAsync<IReadOnlyList<OutboxItem>>(async (connection, transaction) =>
        {
            // One claimer at a time per site keeps a peer's rows in one sender's order; SKIP LOCKED passes rows a
            // receipt is updating right now (they are delivered, or due next round).
            if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_xact_lock(@key)",
                    new { key = AdvisoryLockKeys.Outbox }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false))
                return [];
            var rows = await connection.QueryAsync<(long Id, string Peer, string Key, string Message, int Attempts)>(new CommandDefinition(
                """
                WITH inflight AS (
                    SELECT peer_agent, count(*) AS n FROM mychips.outbox
                    WHERE sent_at IS NULL AND gave_up_at IS NULL AND attempts > 0 AND next_attempt_at > now() GROUP BY peer_agent),
                due AS (
                    SELECT outbox_id, peer_agent, row_number() OVER (PARTITION BY peer_agent ORDER BY outbox_id) AS rn FROM mychips.outbox
                    WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= now()),
                claimed AS (
                    SELECT o.outbox_id FROM mychips.outbox o
                    WHERE o.outbox_id IN (SELECT d.outbox_id FROM due d LEFT JOIN inflight i USING (peer_agent) WHERE d.rn <= @window - coalesce(i.n, 0))
                    ORDER BY o.outbox_id LIMIT @limit FOR UPDATE SKIP LOCKED)
                UPDATE mychips.outbox o SET attempts = o.attempts + 1,
                    next_attempt_at = now() + least(@timeout * power(2, least(o.attempts, 20)), @maxWait)
                FROM claimed WHERE o.outbox_id = claimed.outbox_id
                RETURNING o.outbox_id, o.peer_agent, o.idempotency_key, o.message::text, o.attempts
                """, new { limit, window, timeout = receiptTimeout, maxWait }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return rows.OrderBy(r => r.Id)
                .Select(r => new OutboxItem(r.Id, r.Peer, r.Key, (JsonObject)JsonNode.Parse(r.Message)!, r.Attempts)).ToList();
        }, cancellationToken);

    /// <summary>
    /// Gives up rows tried <paramref name="maxTries"/> times without a receipt; returns them for the log. A reference node
    /// never sends receipts, so silence there is no failure: its rows are retired as <c>unconfirmed</c> instead (no
    /// <c>delivery_failed</c> for the user), and returned with Retired set.
    /// </summary>
    public Task<IReadOnlyList<(long OutboxId, string PeerAgent, string Key, bool Retired)>> GiveUpAsync(
        int maxTries, IPeerProfiles peers, CancellationToken cancellationToken) =>
        transactions.RunAsync<IReadOnlyList<(long, string, string, bool)>>(async (connection, transaction) =>
        {
            var expired = (await connection.QueryAsync<(long Id, string Peer, string Key)>(new CommandDefinition(
                """
                SELECT outbox_id, peer_agent, idempotency_key FROM mychips.outbox
                WHERE sent_at IS NULL AND gave_up_at IS NULL AND attempts >= @maxTries AND next_attempt_at <= now()
                FOR UPDATE SKIP LOCKED
                """, new { maxTries }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();
            if (expired.Count == 0)
                return [];
            var retired = expired.Where(e => peers.IsReferencePeer(e.Peer)).Select(e => e.Id).ToArray();
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE mychips.outbox SET
                    gave_up_at = CASE WHEN outbox_id = ANY(@retired) THEN NULL ELSE now() END,
                    sent_at = CASE WHEN outbox_id = ANY(@retired) THEN now() END,
                    settled_by = CASE WHEN outbox_id = ANY(@retired) THEN 'unconfirmed' ELSE 'gave_up' END,
                    last_error = coalesce(last_error || '; ', '') || 'no receipt after ' || attempts || ' tries'
                WHERE outbox_id = ANY(@ids)
                """, new { ids = expired.Select(e => e.Id).ToArray(), retired }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return expired.Select(e => (e.Id, e.Peer, e.Key, retired.Contains(e.Id))).ToList();
        }, cancellationToken);

    /// <summary>
    /// Applies peers' receipts in one statement: delivered (no refusal) or refused by the peer, which is final.
    /// Returns how many rows changed.
    /// </summary>
    public Task<int> ReceiptsAsync(IReadOnlyList<OutboxReceipt> receipts, CancellationToken cancellationToken) =>
        transactions.RunAsync(async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE mychips.outbox o SET
                sent_at = CASE WHEN r.refusal IS NULL THEN now() END,
                gave_up_at = CASE WHEN r.refusal IS NOT NULL THEN now() END,
                settled_by = CASE WHEN r.refusal IS NULL THEN 'receipt' ELSE 'refused' END,
                last_error = CASE WHEN r.refusal IS NOT NULL THEN 'refused by the peer: ' || r.refusal ELSE o.last_error END
            FROM unnest(@peers, @keys, @refusals) AS r(peer, key, refusal)
            WHERE o.idempotency_key = r.key AND o.peer_agent = r.peer AND o.sent_at IS NULL AND o.gave_up_at IS NULL
            """,
            new
            {
                peers = receipts.Select(r => r.PeerAgent).ToArray(),
                keys = receipts.Select(r => r.Key).ToArray(),
                refusals = receipts.Select(r => r.Refusal).ToArray(),
            }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false), cancellationToken);

    /// <summary>Records why a send failed locally (no address, invalid agent); the row stays due for its next try.</summary>
    public Task RecordErrorAsync(long outboxId, string error, CancellationToken cancellationToken) =>
        transactions.RunAsync(async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE mychips.outbox SET last_error = @error WHERE outbox_id = @outboxId",
            new { outboxId, error }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false), cancellationToken);

    /// <summary>
    /// Gives a row up at once with <paramref name="error"/>, for a failure no re-send can fix (a peer address the site
    /// may not dial). The sender is told through the delivery_failed trigger. Returns false when the row had settled.
    /// </summary>
    public async Task<bool> GiveUpNowAsync(long outboxId, string error, CancellationToken cancellationToken) =>
        await transactions.RunAsync(async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE mychips.outbox SET gave_up_at = now(), settled_by = 'gave_up', last_error = @error
            WHERE outbox_id = @outboxId AND sent_at IS NULL AND gave_up_at IS NULL
            """, new { outboxId, error }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false), cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>
    /// When the next message in flight runs out of time for its receipt (null when none is in flight), to sleep until
    /// then; rows already due but held back by a full window are released by receipts, new rows by NOTIFY.
    /// </summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await transactions.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var next = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            "SELECT min(next_attempt_at) FROM mychips.outbox WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at > now()",
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return next is { } n ? new DateTimeOffset(DateTime.SpecifyKind(n, DateTimeKind.Utc)) : null;
    }
}
