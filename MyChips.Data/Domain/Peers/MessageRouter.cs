using System.Security.Cryptography;
using MyChips.Data.Crypto;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>
/// Sends protocol messages from inside a state change: one addressed to this site's agent goes straight to the
/// receive path (PROTOCOL 4.4 loopback), in the same transaction, and so do its replies; one for another agent is
/// written to <c>mychips.outbox</c> for the sender to deliver.
/// </summary>
public sealed class MessageRouter(MessageReceiver receiver)
{
    public async Task SendAsync(DomainTransaction tx, PeerMessage message)
    {
        var queue = new Queue<PeerMessage>();
        queue.Enqueue(message);
        while (queue.TryDequeue(out var next))
        {
            if (next.To.Agent == tx.Agent.Id)
            {
                foreach (var reply in await receiver.ReceiveAsync(tx, next).ConfigureAwait(false))
                    queue.Enqueue(reply);
            }
            else
            {
                Outbox(tx, next);
            }
        }
    }

    // The tally a message is about (outbox rows are withdrawn by it once answered, OutboxWithdrawal); none for a ticket.
    private static System.Text.Json.Nodes.JsonNode? RecordOf(PeerMessage message) =>
        message.Target == "tally" ? message.Object?["uuid"] : message.Object?["tally"];

    private static NpgsqlParameter Uuid(System.Text.Json.Nodes.JsonNode? node) =>
        node is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var text) && Guid.TryParse(text, out var id)
            ? new NpgsqlParameter<Guid> { TypedValue = id }
            : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid };

    private static void Outbox(DomainTransaction tx, PeerMessage message)
    {
        var json = message.ToJson().ToJsonString();
        // Equal messages share a key: a re-sent one is not queued twice (the receiver's context guard covers the rest).
        var key = Base64Url.Encode(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(json)));
        tx.Enqueue(new NpgsqlBatchCommand(
            """
            WITH a AS (INSERT INTO mychips.agents (agent, host, port) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING)
            INSERT INTO mychips.outbox (peer_agent, message, idempotency_key, tally_uuid, chit_uuid)
            VALUES ($1, $4::jsonb, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING
            """)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = message.To.Agent },
                new NpgsqlParameter { Value = (object?)message.To.Host ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                new NpgsqlParameter { Value = (object?)message.To.Port ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer },
                new NpgsqlParameter<string> { TypedValue = json },
                new NpgsqlParameter<string> { TypedValue = key },
                Uuid(RecordOf(message)),
                Uuid(message.Target == "chit" && message.Action != "chain" ? message.Object?["uuid"] : null),
            },
        });
        tx.OutboxWritten = true;
    }
}
