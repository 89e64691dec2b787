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
        catch (EmbeddedPostgresException e)
        {
            return Report("embedded_postgres_failed", e.Message, Failure);
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            return Report("database_unreachable", $"Cannot reach the site database: {e.Message}", Failure);
        }
        catch (ArgumentException e) when (e.Source == "Npgsql")
        {
            return Report(ConfigurationException.Code, $"The connection string is invalid: {e.Message}", BadConfiguration);
        }
    }

    private static int Report(string code, string message, int exitCode)
    {
        Console.Error.WriteLine($"mychips: error [{code}]: {message}");
        return exitCode;
    }
}
