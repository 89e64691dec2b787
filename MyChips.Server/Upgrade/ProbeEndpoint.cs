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
        endpoints.MapPost("/diagnostics/probe", async (HttpContext context, string key, long amount, SiteTransactions transactions,
            InstanceIdentity identity, CancellationToken cancellationToken) =>
        {
            try
            {
                var rows = await transactions.RunAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(sql,
                    new { key, amount, instance = identity.Id, codeSchemaVersion = identity.CodeSchemaVersion },
                    transaction, cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false);
                return Results.Json(new { key, rows, instance = identity.Id, codeSchemaVersion = identity.CodeSchemaVersion });
            }
            catch (FencedException e)
            {
                // Nothing was written; another (newer) instance can take it.
                context.Response.Headers.RetryAfter = UnavailableResponse.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Results.Json(new { error = FencedException.Code, message = e.Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        return endpoints;
    }
}
