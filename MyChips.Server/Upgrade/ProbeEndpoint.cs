using Dapper;
using Microsoft.Extensions.Options;
using MyChips.Data;
using MyChips.Server.Hosting;

namespace MyChips.Server.Upgrade;

/// <summary><c>POST /diagnostics/probe?key=K&amp;amount=N</c>: see <see cref="ProbeOptions"/>.</summary>
internal static class ProbeEndpoint
{
    public static IEndpointRouteBuilder MapProbe(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<ProbeOptions>>().Value;
        if (!options.Enabled)
        {
            return endpoints;
        }

        if (string.IsNullOrWhiteSpace(options.Sql))
        {
            throw new ConfigurationException($"{ProbeOptions.Section}:Enabled is true but {ProbeOptions.Section}:Sql is empty.");
        }

        var sql = options.Sql;
        // A fenced transaction throws FencedException, which HoldGateMiddleware answers 503 with Retry-After.
        endpoints.MapPost("/diagnostics/probe", async (string key, long amount, SiteTransactions transactions,
            InstanceIdentity identity, CancellationToken cancellationToken) =>
        {
            var rows = await transactions.RunAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(sql,
                new { key, amount, instance = identity.Id, codeSchemaVersion = identity.CodeSchemaVersion },
                transaction, cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false);
            return Results.Json(new { key, rows, instance = identity.Id, codeSchemaVersion = identity.CodeSchemaVersion });
        });
        return endpoints;
    }
}
