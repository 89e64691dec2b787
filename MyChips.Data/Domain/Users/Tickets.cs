using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.Options;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// Login tickets (DESIGN.md 5, PROTOCOL 9.2 without W3): single use, 256 random bits, stored hashed; only a user's
/// newest ticket is valid. Redeeming one registers the user's ECDSA key (P-256 or P-521), builds the user's
/// certificate and opens a session.
/// </summary>
public sealed class Tickets(SiteTransactions transactions, SiteAgents agents, Sessions sessions, IOptions<DomainOptions> options)
{
    public async Task<LoginTicket> IssueAsync(string cuid, TimeSpan? lifetime, CancellationToken cancellationToken)
    {
        var life = lifetime ?? options.Value.TicketLifetime;
        if (life <= TimeSpan.Zero || life > TimeSpan.FromDays(30))
            throw DomainErrors.InvalidField("expires", "must be between 1 minute and 30 days.");
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        var token = SecretToken.Create();
        var expires = await transactions.RunAsync(async (connection, transaction) =>
        {
            var user = await Users.ReadAsync(connection, transaction, "cuid = @cuid AND agent = @agent", new { cuid, agent = agent.Id }, cancellationToken).ConfigureAwait(false)
                ?? throw DomainErrors.UserNotFound(cuid);
            return await connection.ExecuteScalarAsync<DateTime>(new CommandDefinition(
                """
                DELETE FROM mychips.tokens WHERE user_id = @userId AND purpose = 'login';
                INSERT INTO mychips.tokens (user_id, purpose, token_hash, expires_at) VALUES (@userId, 'login', @hash, now() + @life)
                RETURNING expires_at;
                """, new { userId = user.UserId, hash = SecretToken.Hash(token), life }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        var url = $"{options.Value.PublicUrl.TrimEnd('/')}/ticket?user={Uri.EscapeDataString(cuid)}&token={token}";
        return new LoginTicket(cuid, token, new DateTimeOffset(DateTime.SpecifyKind(expires, DateTimeKind.Utc)), url);
    }

    /// <summary>Redeems a ticket: registers <paramref name="publicKey"/> as the user's signing and login key, returns a session.</summary>
    public async Task<SessionToken> RedeemAsync(string cuid, string token, JsonNode publicKey, CancellationToken cancellationToken)
    {
        if (publicKey is JsonObject jwk && jwk.ContainsKey("d"))
            throw DomainErrors.BadKey("publicKey must not contain the private member 'd'.");
        try
        {
            using var _ = UserPublicKey.FromJwk(publicKey);
        }
        catch (InvalidKeyException e)
        {
            throw DomainErrors.BadKey($"publicKey is not a usable P-256 or P-521 ECDSA JWK: {e.Message}");
        }

        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        return await transactions.RunAsync(async (connection, transaction) =>
        {
            var userId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                """
                UPDATE mychips.tokens t SET used_at = now()
                FROM mychips.users u
                WHERE t.user_id = u.user_id AND u.cuid = @cuid AND u.agent = @agent
                  AND t.token_hash = @hash AND t.purpose = 'login' AND t.used_at IS NULL AND t.expires_at > now()
                RETURNING t.user_id
                """, new { cuid, agent = agent.Id, hash = SecretToken.Hash(token) }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)
                ?? throw DomainErrors.InvalidTicket();
            // Checked after the ticket (its holder may know); the refusal rolls back, so the ticket stays usable after enable.
            if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT disabled_at IS NOT NULL FROM mychips.users WHERE user_id = @userId",
                    new { userId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false))
                throw DomainErrors.UserDisabled();
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE mychips.users u SET sign_pub = @jwk::jsonb,
                    cert = jsonb_build_object(
                        'chad', jsonb_strip_nulls(jsonb_build_object('cuid', u.cuid, 'agent', a.agent, 'host', a.host, 'port', a.port)),
                        'type', 'p', 'public', @jwk::jsonb, 'name', u.name,
                        'date', to_jsonb(date_trunc('milliseconds', now())))
                FROM mychips.agents a WHERE a.agent = u.agent AND u.user_id = @userId
                """, new { userId, jwk = publicKey.ToJsonString() }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return await sessions.CreateAsync(connection, transaction, userId, cuid, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }
}
