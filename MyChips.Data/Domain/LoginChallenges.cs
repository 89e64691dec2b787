using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.Options;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>Signed login for returning users: a one-time server nonce, signed with the key registered by the ticket.</summary>
public sealed class LoginChallenges(SiteTransactions transactions, SiteAgents agents, Sessions sessions, IOptions<DomainOptions> options)
{
    /// <summary>
    /// Issues a challenge. For an unknown user a nonce is returned all the same (and never accepted), so the
    /// answer does not tell who has an account.
    /// </summary>
    public async Task<LoginChallenge> IssueAsync(string cuid, CancellationToken cancellationToken)
    {
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        var nonce = SecretToken.Create();
        var life = options.Value.ChallengeLifetime;
        var expires = await transactions.RunAsync((connection, transaction) => connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            """
            INSERT INTO mychips.tokens (user_id, purpose, token_hash, expires_at)
            SELECT user_id, 'challenge', @hash, now() + @life FROM mychips.users WHERE cuid = @cuid AND agent = @agent AND sign_pub IS NOT NULL
            RETURNING expires_at
            """, new { cuid, agent = agent.Id, hash = SecretToken.Hash(nonce), life }, transaction, cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false);
        // The stand-in expiry for an unknown user has PostgreSQL's precision (microseconds), like a real one: with .NET's
        // seven fraction digits the answer would tell who has an account after all.
        var at = expires is { } e ? new DateTimeOffset(DateTime.SpecifyKind(e, DateTimeKind.Utc)) : TruncateToMicroseconds(DateTimeOffset.UtcNow + life);
        return new LoginChallenge(cuid, nonce, at);
    }

    private static DateTimeOffset TruncateToMicroseconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % (TimeSpan.TicksPerMillisecond / 1000)), TimeSpan.Zero);

    /// <summary>Checks the signature over <see cref="LoginChallenge.SignedBytes"/>, consumes the nonce, opens a session.</summary>
    public async Task<SessionToken> CompleteAsync(string cuid, string nonce, string signature, CancellationToken cancellationToken)
    {
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        if (!Base64Url.TryDecode(signature, out var sig))
            throw DomainErrors.Unauthorized("The login signature is not base64url.");
        return await transactions.RunAsync(async (connection, transaction) =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<(long TokenId, long UserId, string SignPub, bool Disabled)>(new CommandDefinition(
                """
                SELECT t.token_id, u.user_id, u.sign_pub::text, u.disabled_at IS NOT NULL FROM mychips.tokens t JOIN mychips.users u USING (user_id)
                WHERE u.cuid = @cuid AND u.agent = @agent AND t.token_hash = @hash AND t.purpose = 'challenge'
                  AND t.used_at IS NULL AND t.expires_at > now()
                FOR UPDATE OF t
                """, new { cuid, agent = agent.Id, hash = SecretToken.Hash(nonce) }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (row.TokenId == 0)
                throw DomainErrors.Unauthorized("The challenge is unknown, used or expired.");
            using var key = UserPublicKey.FromJwk(JsonNode.Parse(row.SignPub)!);
            if (!key.Verify(LoginChallenge.SignedBytes(cuid, nonce), sig))
                throw DomainErrors.Unauthorized("The login signature does not verify.");
            // Told only to the key's holder (after the signature verified), so the answer reveals nothing to others.
            if (row.Disabled)
                throw DomainErrors.UserDisabled();
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM mychips.tokens WHERE token_id = @id", new { id = row.TokenId },
                transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return await sessions.CreateAsync(connection, transaction, row.UserId, cuid, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }
}
