using MyChips.Data.Embedded;

namespace MyChips.Data;

/// <summary>Which PostgreSQL the site uses: a configured server, or an embedded cluster when none is given.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>
    /// An Npgsql connection string. Several hosts are allowed (<c>Host=a,b;Target Session Attributes=primary</c>).
    /// Null or empty: run the embedded cluster.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The site database's name inside the embedded cluster.</summary>
    public string EmbeddedDatabase { get; set; } = "mychips";

    public EmbeddedPostgresOptions Embedded { get; set; } = new();

    public bool UsesEmbeddedCluster => string.IsNullOrWhiteSpace(ConnectionString);
}
