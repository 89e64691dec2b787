using System.CommandLine;
using MyChips.Data;
using MyChips.Server.Hosting;

namespace MyChips.Server.Cli;

/// <summary><c>mychips serve</c>: run the site's listeners until SIGINT/SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create(SiteOptions site)
    {
        var command = new Command("serve", "Run the site: web listener (app, API, WebSocket) over the site database. The default verb.")
        {
            site.Web,
        };
        command.SetAction((result, cancellationToken) =>
            CliErrors.RunAsync(() => RunAsync(site.Flags(result), cancellationToken)));
        return command;
    }

    /// <summary>Also the action of the bare <c>mychips</c>.</summary>
    public static async Task<int> RunAsync(Dictionary<string, string?> flags, CancellationToken cancellationToken)
    {
        var configuration = SiteConfiguration.Build(flags);
        var database = configuration.Bind<DatabaseOptions>(DatabaseOptions.Section);
        using var loggers = CliLogging.CreateFactory();
        var logger = loggers.CreateLogger("mychips");

        // Validate the listener configuration before starting a database for nothing.
        var builderCheck = configuration.Bind<WebListenerOptions>(WebListenerOptions.Section);
        SiteHost.ParseEndpoint(builderCheck.Url, $"{WebListenerOptions.Section}:Url");
        configuration.Bind<Upgrade.UpgradeOptions>(Upgrade.UpgradeOptions.Section).Validate();
        SiteSettingsValidation.Validate(configuration);
        builderCheck.Validate();

        await using var lease = await SiteDatabaseLease.AcquireAsync(database, logger, cancellationToken).ConfigureAwait(false);
        var connectionString = await DatabasePoolSizing.ApplyAsync(lease.ConnectionString, logger, cancellationToken).ConfigureAwait(false);
        var app = SiteHost.Build(SiteHost.CreateBuilder(flags, connectionString));
        await using (app.ConfigureAwait(false))
        {
            await StartOrStopAsync(app, cancellationToken).ConfigureAwait(false);
            var where = lease.Cluster is { } cluster
                ? $"embedded PostgreSQL in {cluster.DataDirectory} on 127.0.0.1:{cluster.Port}"
                : "the configured PostgreSQL";
            logger.LogInformation("MyCHIPs site listening on {Addresses} over {Database}; Ctrl-C stops it",
                string.Join(", ", app.BoundAddresses()), where);
            await app.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            return Upgrade.UpgradeExitCodes.For(app.Services);
        }
    }

    /// <summary>
    /// Starts the host; if that fails (a port in use), the services that did start are stopped before the caller
    /// disposes the container, so none of them runs on against a disposed data source or a stopped cluster.
    /// </summary>
    private static async Task StartOrStopAsync(WebApplication app, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await app.StopAsync(stopping.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the start failure is what the operator needs to see, not a second error while stopping
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            throw;
        }
    }
}
