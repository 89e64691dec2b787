using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using MyChips.Data.Embedded;
using MyChips.Data.Schema;
using MyChips.Server.Hosting;
using Npgsql;

namespace MyChips.Server.Cli;

/// <summary>Turns the failures an operator can cause or fix into one clear line and an exit code.</summary>
internal static class CliErrors
{
    public const int Failure = 1;
    public const int BadConfiguration = 2;

    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (PostgresNotFoundException e)
        {
            return Report(PostgresNotFoundException.Code, e.Message, Failure);
        }
        catch (SchemaException e)
        {
            return Report(e.Code, e.Message, Failure);
        }
        catch (ConfigurationException e)
        {
            return Report(ConfigurationException.Code, e.Message, BadConfiguration);
        }
        catch (EmbeddedDataDirectoryException e)
        {
            return Report(EmbeddedDataDirectoryException.Code, e.Message, BadConfiguration);
        }
        catch (OptionsValidationException e)
        {
            return Report(ConfigurationException.Code, e.Message, BadConfiguration);
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            // Kestrel's message names the address; which setting it came from is for the operator to pick.
            return Report("address_in_use", $"{e.Message} Another process listens there: stop it, or move this site with --web (Web:Url) or Peer:Endpoint.", Failure);
        }
        catch (EmbeddedPostgresException e)
        {
            return Report("embedded_postgres_failed", e.Message, Failure);
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            return Report("database_unreachable", $"Cannot reach the site database: {e.Message}", Failure);
        }
        catch (PostgresException e) when (RefusesConnection(e.SqlState))
        {
            // The server answered but will not serve us: wrong password or role (28), no such database (3D000), too
            // many connections (53300), starting up or shutting down (57P03, 08). The message names no password.
            return Report("database_unreachable", $"The site database refused the connection: {e.SqlState}: {e.MessageText}", Failure);
        }
        catch (PostgresException e)
        {
            return Report("database_error", $"The site database reported an error: {e.SqlState}: {e.MessageText}", Failure);
        }
        catch (ArgumentException e) when (e.Source == "Npgsql")
        {
            return Report(ConfigurationException.Code, $"The connection string is invalid: {e.Message}", BadConfiguration);
        }
    }

    private static bool RefusesConnection(string state) =>
        state.StartsWith("28", StringComparison.Ordinal) || state.StartsWith("08", StringComparison.Ordinal)
        || state is PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.CannotConnectNow;

    private static int Report(string code, string message, int exitCode)
    {
        Console.Error.WriteLine($"mychips: error [{code}]: {message}");
        return exitCode;
    }
}
