using System.CommandLine;

namespace MyChips.Server.Cli;

/// <summary>The flags every verb shares, and their mapping onto configuration keys.</summary>
internal sealed class SiteOptions
{
    public Option<string?> Database { get; } = new("--db")
    {
        HelpName = "connection-string",
        Description = "Npgsql connection string of the site database (several hosts allowed). Without it, an embedded "
            + "PostgreSQL cluster is started under .mychips/pg.",
        Recursive = true,
    };

    public Option<string?> DataDirectory { get; } = new("--data-dir")
    {
        HelpName = "dir",
        Description = "Data directory of the embedded PostgreSQL cluster (default .mychips/pg).",
        Recursive = true,
    };

    public Option<string?> Web { get; } = new("--web")
    {
        HelpName = "url",
        Description = "URL of the web listener (default http://127.0.0.1:8080); also the base of the links user ticket prints unless Domain:PublicUrl is set.",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Options.Add(Web);
        root.Options.Add(Database);
        root.Options.Add(DataDirectory);
    }

    /// <summary>Configuration overrides from the flags that were given; they win over every other source.</summary>
    public Dictionary<string, string?> Flags(ParseResult result)
    {
        var flags = new Dictionary<string, string?>();
        if (result.GetValue(Database) is { } db)
        {
            flags["Database:ConnectionString"] = db;
        }

        if (result.GetValue(DataDirectory) is { } dir)
        {
            flags["Database:Embedded:DataDirectory"] = dir;
        }

        if (result.GetValue(Web) is { } url)
        {
            flags["Web:Url"] = url;
        }

        return flags;
    }
}
