using System.Text.Json.Nodes;
using Dapper;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>Users of this site: creation and lookup.</summary>
public sealed class Users(SiteTransactions transactions, SiteAgents agents)
{
    /// <summary>Adds a user; <paramref name="cuid"/> defaults to <c>p</c> + (1000 + user id), as the reference does.</summary>
    public async Task<UserAccount> AddAsync(string name, string? cuid, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200)
            throw DomainErrors.InvalidField("name", "must be 1 to 200 characters.");
        if (cuid is not null && !CuidRule.IsValid(cuid))
            throw DomainErrors.InvalidField("cuid", "must be 1 to 64 characters of A-Z a-z 0-9 _ . ~ -.");
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await transactions.RunAsync(async (connection, transaction) =>
            {
                var row = await connection.QuerySingleAsync<(long UserId, string Cuid)>(new CommandDefinition(
                    """
                    INSERT INTO mychips.users (user_id, cuid, agent, name) OVERRIDING SYSTEM VALUE
                    SELECT v, COALESCE(@cuid, 'p' || (1000 + v)), @agent, @name
                    FROM (SELECT nextval(pg_get_serial_sequence('mychips.users', 'user_id')) AS v) s
                    RETURNING user_id, cuid
                    """, new { cuid, agent = agent.Id, name }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                return new UserAccount(row.UserId, row.Cuid, agent.Id, name, null, null);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw DomainErrors.UserExists(cuid ?? "(generated)");
        }
    }

    /// <summary>Every user of this site's agent, in id order (<c>mychips user list</c>).</summary>
    public async Task<IReadOnlyList<UserListing>> ListAsync(CancellationToken cancellationToken)
    {
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await transactions.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<(long UserId, string Cuid, string Name, DateTime? DisabledAt, bool HasKey, DateTime CreatedAt)>(new CommandDefinition(
            """
            SELECT user_id, cuid, name, disabled_at, sign_pub IS NOT NULL, created_at FROM mychips.users
            WHERE agent = @agent ORDER BY user_id
            """, new { agent = agent.Id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => new UserListing(r.UserId, r.Cuid, r.Name, r.DisabledAt is { } d ? Utc(d) : null, r.HasKey, Utc(r.CreatedAt))).ToList();
    }

    /// <summary>
    /// Disables or enables a user. Disabling ends their sessions and open challenges at once (the rows go, so every
    /// instance refuses the tokens); their tallies stay as they are and keep working for their partners.
    /// </summary>
    public Task<UserListing> SetDisabledAsync(string cuid, bool disabled, CancellationToken cancellationToken) =>
        ChangeAsync(cuid, disabled
            ? "UPDATE mychips.users SET disabled_at = COALESCE(disabled_at, now()) WHERE user_id = @userId"
            : "UPDATE mychips.users SET disabled_at = NULL WHERE user_id = @userId", endSessions: disabled, cancellationToken);

    /// <summary>Removes the user's registered key (and the certificate built on it) and ends their sessions: a new ticket is needed to log in.</summary>
    public Task<UserListing> RevokeKeyAsync(string cuid, CancellationToken cancellationToken) =>
        ChangeAsync(cuid, "UPDATE mychips.users SET sign_pub = NULL, cert = NULL WHERE user_id = @userId", endSessions: true, cancellationToken);

    private async Task<UserListing> ChangeAsync(string cuid, string update, bool endSessions, CancellationToken cancellationToken)
    {
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        return await transactions.RunAsync(async (connection, transaction) =>
        {
            var userId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT user_id FROM mychips.users WHERE cuid = @cuid AND agent = @agent FOR UPDATE",
                new { cuid, agent = agent.Id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)
                ?? throw DomainErrors.UserNotFound(cuid);
            await connection.ExecuteAsync(new CommandDefinition(update, new { userId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (endSessions)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM mychips.tokens WHERE user_id = @userId AND purpose IN ('session', 'challenge')",
                    new { userId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            var row = await connection.QuerySingleAsync<(long UserId, string Cuid, string Name, DateTime? DisabledAt, bool HasKey, DateTime CreatedAt)>(new CommandDefinition(
                "SELECT user_id, cuid, name, disabled_at, sign_pub IS NOT NULL, created_at FROM mychips.users WHERE user_id = @userId",
                new { userId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return new UserListing(row.UserId, row.Cuid, row.Name, row.DisabledAt is { } d ? Utc(d) : null, row.HasKey, Utc(row.CreatedAt));
        }, cancellationToken).ConfigureAwait(false);
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    public async Task<UserAccount?> FindAsync(string cuid, CancellationToken cancellationToken)
    {
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await transactions.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAsync(connection, null, "cuid = @cuid AND agent = @agent", new { cuid, agent = agent.Id }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<UserAccount> GetAsync(long userId, CancellationToken cancellationToken)
    {
        await using var connection = await transactions.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAsync(connection, null, "user_id = @userId", new { userId }, cancellationToken).ConfigureAwait(false)
            ?? throw DomainErrors.Unauthorized();
    }

    internal static async Task<UserAccount?> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string where, object args, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<(long UserId, string Cuid, string Agent, string Name, string? Cert, string? SignPub)>(
            new CommandDefinition($"SELECT user_id, cuid, agent, name, cert::text, sign_pub::text FROM mychips.users WHERE {where}",
                args, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (row.UserId == 0)
            return null;
        return new UserAccount(row.UserId, row.Cuid, row.Agent, row.Name,
            row.Cert is null ? null : (JsonObject)JsonNode.Parse(row.Cert)!,
            row.SignPub is null ? null : (JsonObject)JsonNode.Parse(row.SignPub)!);
    }
}
