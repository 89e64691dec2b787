using System.Text.Json.Nodes;
using Dapper;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>
/// The per-half tally hash chain (PROTOCOL 6.4): block 0 is the tally digest, block n ≥ 1 a good chit with
/// <c>chain_dgst = SHA-256(D(chit_json_h))</c> over its core, index, prior hash and signature.
/// </summary>
public static class HashChain
{
    /// <summary>Links a chit that just became good at the end of the half's chain (the <c>loc</c> rule).</summary>
    public static void Append(TallyHalf half, ChitRecord chit, JsonObject core)
    {
        var index = half.ChainLast + 1;
        var prior = half.ChainHash ?? throw new InvalidOperationException("The tally has no digest: it is not open.");
        var hash = ChitJson.Digest(ChitJson.Hashed(core, index, prior, chit.Signature));
        chit.ChainIdx = index;
        chit.ChainPrev = prior;
        chit.ChainDgst = hash;
        half.ChainLast = index;
        half.ChainHash = hash;
        half.Touch();
    }

    /// <summary>
    /// Walks a half's chain from the stored rows, recomputing every chit digest and block hash from the core
    /// columns, and checks the links, the indexes (1..n without gaps) and the half's recorded head.
    /// </summary>
    public static async Task<ChainVerification> VerifyAsync(NpgsqlConnection connection, Guid tally, string type, CancellationToken cancellationToken)
    {
        var head = await connection.QuerySingleOrDefaultAsync<(long TallyId, byte[]? Digest, int ChainLast, byte[]? ChainHash)>(new CommandDefinition(
            "SELECT tally_id, digest, chain_last, chain_hash FROM mychips.tallies WHERE tally_uuid = @tally AND tally_type = @type",
            new { tally, type }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (head.TallyId == 0)
            return ChainVerification.Failed(0, "no such tally half");
        if (head.Digest is null)
            return ChainVerification.Failed(0, "the tally has no digest");
        var rows = await connection.QueryAsync<ChainRow>(new CommandDefinition(
            """
            SELECT chit_uuid AS Uuid, chit_type AS Type, issuer AS By, chit_date AS Date, units AS Units, reference::text AS Ref, memo AS Memo,
                   signature AS Signature, digest AS Digest, chain_idx AS Index, chain_prev AS Prior, chain_dgst AS Hash
            FROM mychips.chits WHERE tally_id = @id AND chain_idx IS NOT NULL ORDER BY chain_idx
            """, new { id = head.TallyId }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var verification = Verify(tally, head.Digest, rows);
        if (!verification.Valid)
            return verification;
        if (verification.Length != head.ChainLast || !verification.Head!.AsSpan().SequenceEqual(head.ChainHash))
            return ChainVerification.Failed(head.ChainLast, "the tally's recorded chain head does not match the last block");
        return verification;
    }

    /// <summary>Verifies blocks given in index order against the tally digest.</summary>
    public static ChainVerification Verify(Guid tally, byte[] tallyDigest, IEnumerable<ChainRow> blocks)
    {
        var prior = tallyDigest;
        var index = 0;
        foreach (var block in blocks)
        {
            index++;
            if (block.Index != index)
                return ChainVerification.Failed(index, $"found index {block.Index}");
            if (!block.Prior.AsSpan().SequenceEqual(prior))
                return ChainVerification.Failed(index, "prior does not equal the previous block's hash");
            var core = ChitJson.Core(tally, block.By, block.Type, block.Uuid, block.Date, block.Units,
                block.Ref is null ? null : JsonNode.Parse(block.Ref), block.Memo);
            if (block.Digest is null || !ChitJson.Digest(core).AsSpan().SequenceEqual(block.Digest))
                return ChainVerification.Failed(index, "the chit digest does not match its core");
            var hash = ChitJson.Digest(ChitJson.Hashed(core, index, prior, block.Signature));
            if (!hash.AsSpan().SequenceEqual(block.Hash))
                return ChainVerification.Failed(index, "the block hash does not match");
            prior = hash;
        }

        return new ChainVerification(true, index, prior, null);
    }

    /// <summary>One stored chain block.</summary>
    public sealed record ChainRow(Guid Uuid, string Type, string By, DateTime Date, long? Units, string? Ref, string? Memo,
        string? Signature, byte[]? Digest, int Index, byte[] Prior, byte[] Hash);
}
