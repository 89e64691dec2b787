using Dapper;

namespace MyChips.Data.Domain;

/// <summary>
/// The safety net of chain consensus between sites (PROTOCOL 4.6: retry chain messages too): a tally with another
/// site whose chain has stayed unconfirmed for a while, with nothing left in the outbox for that partner to move it,
/// gets a fresh <c>upd</c> (foil) or <c>nak</c> (stock), each in its own transaction.
/// </summary>
public sealed class ChainResync(DomainRunner runner, ChainConsensus chains, MessageRouter router, SiteTransactions transactions)
{
    /// <returns>How many tallies were nudged.</returns>
    public async Task<int> RunAsync(TimeSpan quietFor, int limit, CancellationToken cancellationToken)
    {
        List<(Guid Tally, long UserId)> stale;
        await using (var connection = await transactions.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        {
            stale = (await connection.QueryAsync<(Guid, long)>(new CommandDefinition(
                """
                SELECT t.tally_uuid, t.user_id FROM mychips.tallies t JOIN mychips.agents a ON a.agent = t.part_agent AND NOT a.is_local
                WHERE t.status IN ('open', 'close') AND t.digest IS NOT NULL AND t.chain_conf IS DISTINCT FROM t.chain_last
                  AND t.updated_at < now() - @quietFor
                  AND NOT EXISTS (SELECT FROM mychips.outbox o WHERE o.peer_agent = t.part_agent AND o.sent_at IS NULL AND o.gave_up_at IS NULL)
                ORDER BY t.updated_at LIMIT @limit
                """, new { quietFor, limit }, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();
        }

        var nudged = 0;
        foreach (var (tally, userId) in stale)
        {
            nudged += await runner.RunAsync(async tx =>
            {
                var half = (await tx.LockTallyAsync(tally).ConfigureAwait(false)).FirstOrDefault(h => h.UserId == userId);
                if (half is null)
                    return 0;
                var messages = await chains.ResyncAsync(tx, half).ConfigureAwait(false);
                foreach (var message in messages)
                    await router.SendAsync(tx, message).ConfigureAwait(false);
                return messages.Count > 0 ? 1 : 0;
            }, cancellationToken).ConfigureAwait(false);
        }

        return nudged;
    }
}
