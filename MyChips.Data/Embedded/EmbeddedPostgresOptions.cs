namespace MyChips.Data.Embedded;

/// <summary>Where and how the embedded PostgreSQL cluster runs.</summary>
public sealed class EmbeddedPostgresOptions
{
    /// <summary>The cluster's data directory; created by initdb on first start and reused after.</summary>
    public string DataDirectory { get; set; } = Path.Combine(".mychips", "pg");

    /// <summary>The loopback port; 0 picks a free one at each start.</summary>
    public int Port { get; set; }

    /// <summary>The directory of initdb/pg_ctl/postgres; null searches the usual places.</summary>
    public string? BinDirectory { get; set; }

    /// <summary>
    /// False turns off fsync and full-page writes: for throwaway test clusters only, never for a site's data.
    /// </summary>
    public bool Durable { get; set; } = true;

    /// <summary>How long pg_ctl may take to start or stop the server.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Server settings passed as <c>-c name=value</c>.</summary>
    public IDictionary<string, string> Settings { get; } = new Dictionary<string, string>();
}
