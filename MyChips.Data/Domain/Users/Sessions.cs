using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>Short-lived bearer tokens of the user API, stored hashed (tokens with purpose <c>session</c>).</summary>
public sealed class Sessions(NpgsqlDataSource dataSource, IOptions<DomainOptions> options)
{
    private const int MaxCached = 100_000;

    // Validated sessions, by token hash, for at most SessionCacheTime: saves a round trip per request. A session
    // ended on another instance stays usable here for at most that long (never past its expiry).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (AuthenticatedUser User, DateTimeOffset Until)> _cache = new();

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
        var hash = SecretToken.Hash(token);
        var key = Convert.ToBase64String(hash);
        var now = DateTimeOffset.UtcNow;
        if (_cache.TryGetValue(key, out var cached) && cached.Until > now)
            return cached.User;
        await using var command = dataSource.CreateCommand($"SELECT t.user_id, u.cuid, t.expires_at {ValidSessionFrom("$1")}");
        command.Parameters.Add(new NpgsqlParameter { Value = hash });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _cache.TryRemove(key, out _);
            throw DomainErrors.Unauthorized();
        }

        var user = new AuthenticatedUser(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2));
        var cacheTime = options.Value.SessionCacheTime;
        if (cacheTime > TimeSpan.Zero)
        {
            if (_cache.Count > MaxCached)
                _cache.Clear();
            var until = now + cacheTime;
            _cache[key] = (user, until < user.SessionExpires ? until : user.SessionExpires);
        }

        return user;
    }

    /// <summary>
    /// The one definition of a valid session (<c>FROM … WHERE …</c>, tables <c>t</c> = tokens, <c>u</c> = users) for the
    /// token hash <paramref name="hash"/> (an SQL expression): authentication and the push sockets' re-check share it,
    /// so whatever ends a session for one ends it for the other.
    /// </summary>
    public static string ValidSessionFrom(string hash) =>
        $"FROM mychips.tokens t JOIN mychips.users u USING (user_id) WHERE t.token_hash = {hash} AND t.purpose = 'session' AND t.expires_at > now() AND u.disabled_at IS NULL";

    /// <summary>
    /// Ends a session (logout); harmless when it is already gone. Wakes the user's push sockets on every instance
    /// (<c>NOTIFY mychips_user</c>), which re-check their sessions and close. The NOTIFY is inside the transaction,
    /// unlike the domain's (DomainNotifier serialises none of the payments' commits): a logout is rare.
    /// </summary>
    public Task EndAsync(SiteTransactions transactions, string token, CancellationToken cancellationToken)
    {
        _cache.TryRemove(Convert.ToBase64String(SecretToken.Hash(token)), out _);
        return transactions.RunAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            WITH ended AS (DELETE FROM mychips.tokens WHERE token_hash = @hash AND purpose = 'session' RETURNING user_id)
            SELECT pg_notify('mychips_user', user_id::text) FROM ended
            """,
            new { hash = SecretToken.Hash(token) }, transaction, cancellationToken: cancellationToken)), cancellationToken);
    }
}
