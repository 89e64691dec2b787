using System.CommandLine;

namespace MyChips.Server.Cli;

/// <summary>The <c>mychips</c> command line: one executable, several verbs.</summary>
internal static class MyChipsCommand
{
    public static RootCommand Create()
    {
        var site = new SiteOptions();
        var root = new RootCommand("mychips: the backend of a MyCHIPs site (web, native and peer listeners over one PostgreSQL database).")
        {
            ServeCommand.Create(site),
            MigrateCommand.Create(site),
            UpgradeStatusCommand.Create(site),
            NoiseVectorsCommand.Create(),
        };
        site.AddTo(root);
        root.SetAction((result, cancellationToken) =>
            CliErrors.RunAsync(() => ServeCommand.RunAsync(site.Flags(result), cancellationToken)));
        return root;
    }
}
