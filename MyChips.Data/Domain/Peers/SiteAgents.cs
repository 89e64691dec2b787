using Dapper;
using Microsoft.Extensions.Options;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// The site's agent key: created on first use (first start, or the first <c>mychips user add</c>) and kept in
/// <c>mychips.agent_keys</c>; concurrent first starts agree on one key through the unique local-agent index.
/// The loaded identity never changes afterwards, so it is cached.
/// </summary>
public sealed class SiteAgents(SiteTransactions transactions, IOptions<DomainOptions> options, AgentAddress? address = null)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SiteAgent? _agent;

    public async Task<SiteAgent> GetAsync(CancellationToken cancellationToken)
    {
        if (_agent is { } known)
            return known;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _agent ??= await EnsureAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The private key of the agent, for the peer listener (Noise) and lift signatures.</summary>
    public async Task<AgentKey> LoadKeyAsync(CancellationToken cancellationToken)
    {
        var agent = await GetAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await transactions.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var seed = await connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(
            "SELECT seed FROM mychips.agent_keys WHERE agent = @agent", new { agent = agent.Id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return AgentKey.FromSeed(seed ?? throw new InvalidOperationException("The agent key row vanished."));
    }

    private async Task<SiteAgent> EnsureAsync(CancellationToken cancellationToken)
    {
        var (host, port) = address is null ? (options.Value.AgentHost, options.Value.AgentPort) : await address.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await transactions.RunAsync(async (connection, transaction) =>
        {
            const string select = "SELECT agent AS Id, host AS Host, port AS Port FROM mychips.agents WHERE is_local";
            var existing = await connection.QuerySingleOrDefaultAsync<SiteAgentRow>(
                new CommandDefinition(select, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (existing is null)
            {
                // A concurrent first start may win the race: ON CONFLICT keeps its key and we read it back.
                using var key = AgentKey.Generate();
                await connection.ExecuteAsync(new CommandDefinition(
                    """
                    INSERT INTO mychips.agents (agent, host, port, is_local) VALUES (@id, @host, @port, true) ON CONFLICT DO NOTHING;
                    INSERT INTO mychips.agent_keys (agent, seed) SELECT @id, @seed WHERE EXISTS (SELECT FROM mychips.agents WHERE agent = @id AND is_local);
                    """,
                    new { id = key.Id, host, port, seed = key.ExportSeed() },
                    transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                existing = await connection.QuerySingleAsync<SiteAgentRow>(
                    new CommandDefinition(select, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
            else if (address is not null && (existing.Host != host || existing.Port != port))
            {
                // The server's peer listener moved (another port, a new public address): publish where it is now.
                await connection.ExecuteAsync(new CommandDefinition("UPDATE mychips.agents SET host = @host, port = @port WHERE agent = @id",
                    new { host, port, id = existing.Id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                existing = existing with { Host = host, Port = port };
            }

            return new SiteAgent(existing.Id, existing.Host ?? host, existing.Port ?? port);
        }, cancellationToken).ConfigureAwait(false);
    }

    private sealed record SiteAgentRow(string Id, string? Host, int? Port);
}
