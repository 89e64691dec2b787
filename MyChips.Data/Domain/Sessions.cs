using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>Short-lived bearer tokens of the user API, stored hashed (tokens with purpose <c>session</c>).</summary>
public sealed class Sessions(NpgsqlDataSource dataSource, IOptions<DomainOptions> options)
{
    /// <summary>Creates a session inside the caller's transaction (ticket redemption, signed login).</summary>
    public async Task<SessionToken> CreateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long userId, string cuid, CancellationToken cancellationToken)
    {
        var token = SecretToken.Create();
        var expires = await connection.ExecuteScalarAsync<DateTime>(new CommandDefinition(
            """
            INSERT INTO mychips.tokens (user_id, purpose, token_hash, expires_at) VALUES (@userId, 'session', @hash, now() + @lifetime)
            RETURNING expires_at
            """, new { userId, hash = SecretToken.Hash(token), lifetime = options.Value.SessionLifetime }, transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new SessionToken(token, new DateTimeOffset(DateTime.SpecifyKind(expires, DateTimeKind.Utc)), cuid);
    }

    /// <summary>The user behind a bearer token; <see cref="DomainException"/> <c>unauthorized</c> when it is unknown or expired.</summary>
    public async Task<AuthenticatedUser> AuthenticateAsync(string? token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 100)
            throw DomainErrors.Unauthorized();
        await using var command = dataSource.CreateCommand(
            """
            SELECT t.user_id, u.cuid, t.expires_at FROM mychips.tokens t JOIN mychips.users u USING (user_id)
            WHERE t.token_hash = $1 AND t.purpose = 'session' AND t.expires_at > now()
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = SecretToken.Hash(token) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            throw DomainErrors.Unauthorized();
        return new AuthenticatedUser(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2));
    }

    /// <summary>Ends a session (logout); harmless when it is already gone.</summary>
    public Task EndAsync(SiteTransactions transactions, string token, CancellationToken cancellationToken) =>
        transactions.RunAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM mychips.tokens WHERE token_hash = @hash AND purpose = 'session'",
            new { hash = SecretToken.Hash(token) }, transaction, cancellationToken: cancellationToken)), cancellationToken);
}
