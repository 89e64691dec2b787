namespace MyChips.Server.Peer;

/// <summary>
/// The site's side of section <c>Peer</c> (the transport's own keys are in <c>PeerTransportOptions</c>): where peers
/// are told to reach us, and how the outbox sender delivers.
/// </summary>
public sealed class SitePeerOptions
{
    public const string Section = "Peer";

    /// <summary>Whether the site runs the peer listener and the outbox sender. On unless set to false.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The host in our CHADs; default: the address the listener bound (a wildcard bind advertises 127.0.0.1).</summary>
    public string? PublicHost { get; set; }

    /// <summary>The port in our CHADs; default: the port the listener bound (so port 0 advertises the real one).</summary>
    public int? PublicPort { get; set; }

    /// <summary>How long a sent message waits for the peer's receipt before it is sent again; doubles per try.</summary>
    public TimeSpan ReceiptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between two tries of one message.</summary>
    public TimeSpan MaxRetryWait { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Tries without a receipt before a message is given up (<c>outbox.gave_up_at</c>, logged as an error).</summary>
    public int MaxTries { get; set; } = 100;

    /// <summary>
    /// A chain with another site left unconfirmed this long with nothing in the outbox for that partner is nudged again
    /// (the foil re-sends its order, the stock asks for it).
    /// </summary>
    public TimeSpan ChainResyncAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages in flight (sent, no receipt yet) per peer; more wait in the outbox until receipts come back.</summary>
    public int Window { get; set; } = 64;

    /// <summary>Rows claimed per round.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>Tally offers and tickets applied per remote agent and minute (also the burst); more wait for the re-send.</summary>
    public int OfferRate { get; set; } = 30;

    /// <summary>The outbox is checked at least this often even without a NOTIFY.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
}
