using System.Text.Json.Nodes;
using Dapper;

namespace MyChips.Data.Domain;

/// <summary>
/// The receive path for messages from other sites: one fenced transaction that records the message id (a re-sent
/// message changes nothing), checks the envelope against this site and the tally (PROTOCOL 5.1 rules 2 and 3), applies
/// the message (<see cref="MessageReceiver"/>) and queues the replies (<see cref="MessageRouter"/>). A refusal rolls
/// everything back, the id included, and returns the reason.
/// </summary>
public sealed class PeerInbox(DomainRunner runner, MessageReceiver receiver, MessageRouter router, SiteTransactions transactions)
{
    /// <summary>The envelope member our nodes add to every outbound message: the sender's outbox key (see docs).</summary>
    public const string IdMember = "id";

    /// <param name="peerAgent">The agent the transport authenticated on the connection.</param>
    public async Task<PeerInboxResult> ReceiveAsync(string peerAgent, JsonObject json, CancellationToken cancellationToken)
    {
        PeerMessage? message;
        try
        {
            message = PeerMessage.FromJson(json);
        }
        catch (InvalidOperationException e)
        {
            // A lone surrogate escape (\ud800) in a member the envelope reads as text.
            return PeerInboxResult.Rejected($"malformed envelope: {e.Message}");
        }

        if (message is null)
            return PeerInboxResult.Rejected("malformed envelope: target, action, to and from are required");
        if (message.From.Agent != peerAgent)
            return PeerInboxResult.Rejected($"from.agent {message.From.Agent} is not the authenticated peer {peerAgent}");
        var id = TextOf(json[IdMember]) is { Length: > 0 and <= 200 } s ? s : null;
        try
        {
            return await runner.RunAsync(async tx =>
            {
                if (message.To.Agent != tx.Agent.Id)
                    throw Refuse($"to.agent {message.To.Agent} is not this site's agent");
                if (id is not null && !await RecordAsync(tx, id, peerAgent).ConfigureAwait(false))
                    return PeerInboxResult.Duplicate;
                await CheckPartnerAsync(tx, message).ConfigureAwait(false);
                foreach (var reply in await receiver.ReceiveAsync(tx, message).ConfigureAwait(false))
                    await router.SendAsync(tx, reply).ConfigureAwait(false);
                return tx.Ignored.Count == 0 ? PeerInboxResult.Applied : PeerInboxResult.AppliedWithNotes([.. tx.Ignored]);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (DomainException e)
        {
            return PeerInboxResult.Rejected($"{e.Code}: {e.Message}", e.Detail);
        }
        catch (Exception e) when (IsMalformed(e))
        {
            return PeerInboxResult.Rejected($"malformed_message: {e.Message}");
        }
    }

    // A member of the wrong JSON kind (a string where a number belongs) surfaces as a System.Text.Json conversion error,
    // a number beyond PostgreSQL numeric as an OverflowException from the digest;
    // a value PostgreSQL cannot store (U+0000 in text or jsonb, a number out of range: class 22) or that breaks a check
    // or not-null constraint (23514; 23502, a member the message lacks) surfaces from the statement. Either way the
    // message is bad, not the site, and fails the same way every time, so it is refused rather than retried.
    private static bool IsMalformed(Exception e) =>
        e is FormatException or OverflowException or System.Text.Json.JsonException || (e is InvalidOperationException && e.Source == "System.Text.Json")
        || e is Npgsql.PostgresException { SqlState: var state } && (state.StartsWith("22", StringComparison.Ordinal)
            || state is Npgsql.PostgresErrorCodes.CheckViolation or Npgsql.PostgresErrorCodes.NotNullViolation);

    // A string member, or null; also null for a lone surrogate escape, which cannot be read as a string.
    private static string? TextOf(JsonNode? node)
    {
        try
        {
            return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether an IK first contact carries an invitation we issued that can still be redeemed, or is the re-send of a
    /// ticket we already applied (its receipt was lost). Read-only: the ticket is applied when it is delivered.
    /// </summary>
    public async Task<bool> TicketAcceptableAsync(string peerAgent, JsonObject json, CancellationToken cancellationToken)
    {
        PeerMessage? message;
        string? token;
        try
        {
            message = PeerMessage.FromJson(json);
            token = message?.Ticket?["token"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
        }
        catch (InvalidOperationException)
        {
            return false; // a lone surrogate escape (\ud800) in a member read as text
        }

        if (message is null || token is null || token.Length > 200 || message.Target != "tally" || message.Action != "ticket")
            return false;
        var id = TextOf(json[IdMember]);
        // Unauthenticated input: text PostgreSQL cannot take (U+0000) would fail the lookup and throw out of the handshake.
        if (message.To.Cuid.Contains('\0', StringComparison.Ordinal) || id?.Contains('\0', StringComparison.Ordinal) == true)
            return false;
        await using var connection = await transactions.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            SELECT EXISTS (SELECT FROM mychips.tokens t JOIN mychips.users u USING (user_id) JOIN mychips.agents a ON a.agent = u.agent AND a.is_local
                           WHERE t.token_hash = @hash AND t.purpose = 'invite' AND t.used_at IS NULL AND t.expires_at > now() AND u.cuid = @cuid)
                OR EXISTS (SELECT FROM mychips.received_messages WHERE message_id = @id AND peer_agent = @peer)
            """, new { hash = SecretToken.Hash(token), cuid = message.To.Cuid, id, peer = peerAgent },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private static async Task<bool> RecordAsync(DomainTransaction tx, string id, string peerAgent) =>
        await tx.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO mychips.received_messages (message_id, peer_agent) VALUES (@id, @peerAgent) ON CONFLICT DO NOTHING",
            new { id, peerAgent }, tx.Transaction, cancellationToken: tx.CancellationToken)).ConfigureAwait(false) == 1;

    // Envelope rule 3: the message must concern a tally of the addressed user whose recorded partner is the sender;
    // a ticket and a first offer create that record, so they are exempt (the receivers check them: an invitation we
    // issued, one our user redeemed). Every miss is refused with the same public reason (the detail stays in our log).
    private static async Task CheckPartnerAsync(DomainTransaction tx, PeerMessage message)
    {
        if (message.Target is not ("tally" or "chit") || (message.Target == "tally" && message.Action == "ticket"))
            return;
        var key = message.Target == "tally" ? message.Object?["uuid"] : message.Object?["tally"];
        if (!Guid.TryParse(key is JsonValue k && k.TryGetValue<string>(out var text) ? text : null, out var tally))
            throw Refuse("the message names no tally");
        var halves = await tx.LockTallyAsync(tally).ConfigureAwait(false);
        var half = halves.FirstOrDefault(h => h.HoldCuid == message.To.Cuid);
        if (half is null && halves.Count == 0 && message.Target == "tally" && message.Action == "offer")
            return;
        if (half is null)
            throw DomainErrors.UnknownRecipient($"unknown tally {tally} for user {message.To.Cuid}");
        if (half.PartAgent != message.From.Agent || half.PartCuid != message.From.Cuid)
            throw DomainErrors.UnknownRecipient($"from {message.From.Cuid}@{message.From.Agent} is not the partner recorded on tally {tally}");
    }

    private static DomainException Refuse(string reason) => new("peer_message_refused", reason, 400);
}
