using Npgsql;

namespace MyChips.Data.Domain;

// Chain reads for consensus between sites (PROTOCOL 6.5): the linked chits of a half in an index range, as this
// transaction sees them (rows it already tracks win over the stored ones, which may be stale until the final write).
public sealed partial class DomainTransaction
{
    /// <summary>The good chits of <paramref name="half"/> linked at <paramref name="from"/>..<paramref name="to"/>, in index order, tracked by this transaction.</summary>
    internal async Task<IReadOnlyList<ChitRecord>> LinkedChitsAsync(TallyHalf half, int from, int to)
    {
        if (from > to)
            return [];
        await FlushAsync().ConfigureAwait(false);
        var stored = new List<ChitRecord>();
        await using (var command = new NpgsqlCommand(
            $"SELECT {ChitColumns} FROM mychips.chits c JOIN mychips.tallies t ON t.tally_id = c.tally_id WHERE c.tally_id = $1 AND c.chain_idx BETWEEN $2 AND $3",
            Connection, Transaction)
        {
            Parameters =
            {
                new NpgsqlParameter<long> { TypedValue = half.TallyId },
                new NpgsqlParameter<int> { TypedValue = from },
                new NpgsqlParameter<int> { TypedValue = to },
            },
        })
        {
            await using var reader = await command.ExecuteReaderAsync(CancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(CancellationToken).ConfigureAwait(false))
                stored.Add(ReadChit(reader));
        }

        foreach (var row in stored)
        {
            if (_chitsLoaded.Add((half.Uuid, row.Uuid)))
                _chits.Add(row);
        }

        return _chits
            .Where(c => c.TallyId == half.TallyId && c.ChainIdx is { } i && i >= from && i <= to)
            .OrderBy(c => c.ChainIdx)
            .ToList();
    }

    /// <summary>Our block hash at <paramref name="index"/> (the tally digest at 0); null when nothing is linked there.</summary>
    internal async Task<byte[]?> ChainHashAtAsync(TallyHalf half, int index)
    {
        if (index == 0)
            return half.Digest;
        if (index == half.ChainLast)
            return half.ChainHash;
        if (index > half.ChainLast || index < 0)
            return null;
        var chits = await LinkedChitsAsync(half, index, index).ConfigureAwait(false);
        return chits.Count == 1 ? chits[0].ChainDgst : null;
    }

    /// <summary>
    /// Unlinks every chit of <paramref name="half"/> at <paramref name="from"/> or above, first in the database (so
    /// re-linking them in any order cannot trip the unique index on the final write) and then in memory.
    /// </summary>
    internal async Task<IReadOnlyList<ChitRecord>> UnlinkFromAsync(TallyHalf half, int from)
    {
        var tail = await LinkedChitsAsync(half, from, int.MaxValue).ConfigureAwait(false);
        _writes.Add(new NpgsqlBatchCommand(
            "UPDATE mychips.chits SET chain_idx = NULL, chain_prev = NULL, chain_dgst = NULL WHERE tally_id = $1 AND chain_idx >= $2")
        {
            Parameters = { new NpgsqlParameter<long> { TypedValue = half.TallyId }, new NpgsqlParameter<int> { TypedValue = from } },
        });
        foreach (var chit in tail)
        {
            chit.ChainIdx = null;
            chit.ChainPrev = null;
            chit.ChainDgst = null;
            chit.Touch();
        }

        return tail;
    }
}
