using Dapper;
using MyChips.Data.Domain;
using Npgsql;

namespace MyChips.Tests.CrossSite;

/// <summary>Reads a site's database directly: what the tests compare between the two halves of a tally.</summary>
public sealed record SiteDatabase(string ConnectionString)
{
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>The local half of a tally as stored: state, balance and chain position.</summary>
    public async Task<HalfRow?> HalfAsync(Guid tally)
    {
        await using var connection = await OpenAsync();
        return await connection.QuerySingleOrDefaultAsync<HalfRow>(
            """
            SELECT tally_type AS Type, status AS Status, net AS Net, chain_last AS ChainLast, chain_conf AS ChainConf, chain_hash AS ChainHash,
                   (SELECT count(*) FROM mychips.chits c WHERE c.tally_id = t.tally_id AND c.status = 'good') AS Good,
                   (SELECT count(*) FROM mychips.chits c WHERE c.tally_id = t.tally_id AND c.status = 'good' AND c.chain_idx IS NULL) AS Unlinked
            FROM mychips.tallies t WHERE tally_uuid = @tally
            """, new { tally });
    }

    /// <summary>The chain as stored, index → (chit, block hash).</summary>
    public async Task<List<(int Index, Guid Chit, byte[] Hash)>> ChainAsync(Guid tally)
    {
        await using var connection = await OpenAsync();
        return (await connection.QueryAsync<(int, Guid, byte[])>(
            """
            SELECT c.chain_idx, c.chit_uuid, c.chain_dgst FROM mychips.chits c JOIN mychips.tallies t USING (tally_id)
            WHERE t.tally_uuid = @tally AND c.chain_idx IS NOT NULL ORDER BY c.chain_idx
            """, new { tally })).ToList();
    }

    public async Task<ChainVerification> VerifyChainAsync(Guid tally, string type)
    {
        await using var connection = await OpenAsync();
        return await HashChain.VerifyAsync(connection, tally, type, CancellationToken.None);
    }

    /// <summary>Everything a peer message could change, summarised: equal before and after means nothing was written.</summary>
    public async Task<string> SnapshotAsync()
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteScalarAsync<string>(
            """
            SELECT concat_ws(' | ',
                (SELECT count(*) FROM mychips.tallies), (SELECT count(*) FROM mychips.chits), (SELECT count(*) FROM mychips.outbox),
                (SELECT count(*) FROM mychips.received_messages), (SELECT count(*) FROM mychips.user_events), (SELECT count(*) FROM mychips.agents),
                (SELECT md5(coalesce(string_agg(concat_ws(',', redemption_id, used_at), ';' ORDER BY redemption_id), '')) FROM mychips.redemptions),
                (SELECT md5(coalesce(string_agg(concat_ws(',', tally_uuid, tally_type, status, net, net_pending, pending_chits, chain_last, chain_conf,
                    encode(chain_hash, 'hex'), part_agent, part_cuid, hold_sig, part_sig, revision, memo, md5(hold_cert::text), md5(coalesce(part_cert::text, '')),
                    md5(hold_terms::text), md5(part_terms::text)), ';' ORDER BY tally_id), '')) FROM mychips.tallies),
                (SELECT md5(coalesce(string_agg(concat_ws(',', chit_uuid, status, units, chain_idx, encode(chain_dgst, 'hex')), ';' ORDER BY chit_id), '')) FROM mychips.chits))
            """) ?? "";
    }

    public sealed record HalfRow(string Type, string Status, long Net, int ChainLast, int? ChainConf, byte[]? ChainHash, long Good, long Unlinked);
}
