using Npgsql;
using NpgsqlTypes;

namespace MyChips.Data.Domain;

/// <summary>
/// Takes back outbox rows that no longer ask for anything: the partner answered them, or our record moved past the
/// state they were sent from. A reference node sends no receipts, so without this its rows would be re-sent with
/// back-off, and its context guard accepts some of them again after its user moved on: an <c>offer</c> revives a
/// refused tally, a <c>pend</c> a refused invoice (docs/peer-rules.md). A withdrawn row counts as settled, not given up.
/// </summary>
internal static class OutboxWithdrawal
{
    /// <summary>Our half changed state: tally messages sent from another state no longer stand.</summary>
    public static void TallyMoved(DomainTransaction tx, TallyHalf half)
    {
        var state = half.State;
        var stale = new List<string>(3);
        if (state != "H.offer")
            stale.Add("offer");
        if (state != "void")
            stale.Add("void");
        if (state is not ("draft" or "P.draft"))
            stale.Add("draft");
        Withdraw(tx, half, null, "tally", stale);
    }

    /// <summary>A chit changed state: an invoice (<c>pend</c>) stands only while A.pend, a refusal only while L.void.</summary>
    public static void ChitMoved(DomainTransaction tx, TallyHalf half, ChitRecord chit)
    {
        var state = ChitState.Code(chit, half.Type);
        var stale = new List<string>(2);
        if (state != "A.pend")
            stale.Add("pend");
        if (state != "L.void")
            stale.Add("void");
        Withdraw(tx, half, chit.Uuid, "chit", stale);
    }

    /// <summary>The partner answered our message on this tally (e.g. <c>draft</c> answers our <c>offer</c>).</summary>
    public static void Answered(DomainTransaction tx, TallyHalf half, string target, string action) =>
        Withdraw(tx, half, null, target, [action]);

    /// <summary>The partner confirmed our chain up to <paramref name="index"/>: our <c>good</c> messages of those chits arrived.</summary>
    public static void ChainConfirmed(DomainTransaction tx, TallyHalf half, int index)
    {
        if (!IsRemote(tx, half))
            return;
        tx.Enqueue(new NpgsqlBatchCommand(
            """
            UPDATE mychips.outbox o SET sent_at = now(), settled_by = 'withdrawn'
            FROM mychips.chits c
            WHERE o.tally_uuid = $1 AND o.sent_at IS NULL AND o.gave_up_at IS NULL AND o.message->>'target' = 'chit'
              AND o.message->>'action' = 'good' AND c.tally_id = $2 AND c.chit_uuid = o.chit_uuid AND c.chain_idx <= $3
            """)
        {
            Parameters =
            {
                new NpgsqlParameter<Guid> { TypedValue = half.Uuid },
                new NpgsqlParameter<long> { TypedValue = half.TallyId },
                new NpgsqlParameter<int> { TypedValue = index },
            },
        });
    }

    /// <summary>The inviter's first offer arrived: our redeeming <c>ticket</c> to them has done its work.</summary>
    public static void TicketAnswered(DomainTransaction tx, Chad inviter, string redeemerCuid) =>
        tx.Enqueue(new NpgsqlBatchCommand(
            """
            UPDATE mychips.outbox SET sent_at = now(), settled_by = 'withdrawn'
            WHERE peer_agent = $1 AND sent_at IS NULL AND gave_up_at IS NULL AND message->>'target' = 'tally' AND message->>'action' = 'ticket'
              AND message->'to'->>'cuid' = $2 AND message->'from'->>'cuid' = $3
            """)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = inviter.Agent },
                new NpgsqlParameter<string> { TypedValue = inviter.Cuid },
                new NpgsqlParameter<string> { TypedValue = redeemerCuid },
            },
        });

    private static void Withdraw(DomainTransaction tx, TallyHalf half, Guid? chit, string target, List<string> actions)
    {
        if (actions.Count == 0 || !IsRemote(tx, half))
            return;
        var command = new NpgsqlBatchCommand(
            $"""
            UPDATE mychips.outbox SET sent_at = now(), settled_by = 'withdrawn'
            WHERE tally_uuid = $1 AND sent_at IS NULL AND gave_up_at IS NULL AND message->>'target' = $2 AND message->>'action' = ANY($3)
              AND message->'from'->>'cuid' = $4 {(chit is null ? "" : "AND chit_uuid = $5")}
            """)
        {
            Parameters =
            {
                new NpgsqlParameter<Guid> { TypedValue = half.Uuid },
                new NpgsqlParameter<string> { TypedValue = target },
                new NpgsqlParameter<string[]> { TypedValue = [.. actions], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                new NpgsqlParameter<string> { TypedValue = half.HoldCuid },
            },
        };
        if (chit is { } id)
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        tx.Enqueue(command);
    }

    // Messages between two users of this site never reach the outbox.
    private static bool IsRemote(DomainTransaction tx, TallyHalf half) => half.PartAgent is { } agent && agent != tx.Agent.Id;
}
