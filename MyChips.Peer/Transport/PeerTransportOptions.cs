using System.Net;

namespace MyChips.Peer.Transport;

/// <summary>Configuration section <c>Peer</c>: the peer listener and the outbound connections (PROTOCOL §4).</summary>
public sealed class PeerTransportOptions
{
    public const string Section = "Peer";

    /// <summary>Noise packets are at most 65535 bytes, so a Noise frame (header byte included) never exceeds this.</summary>
    public const int NoiseMaxFrameBytes = 65535 + 1;

    /// <summary>Whether the site opens the peer listener at all.</summary>
    public bool Enabled { get; set; }

    /// <summary>Where the listener binds, <c>address:port</c>; the reference default port is 65430.</summary>
    public string Endpoint { get; set; } = "127.0.0.1:65430";

    /// <summary>The mode for every peer without an entry in <see cref="PeerModes"/>.</summary>
    public PeerTransportMode Mode { get; set; } = PeerTransportMode.Noise;

    /// <summary>
    /// Per-peer overrides by agent ID: <c>Raw</c> for a legacy reference node (plaintext), <c>NoiseReference</c> for a
    /// reference node in Noise mode (its swapped transport keys, ref bug T11).
    /// </summary>
    public Dictionary<string, PeerTransportMode> PeerModes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Cap on one frame, header byte included (ref bug T8). Noise frames are further capped at 65536.</summary>
    public int MaxFrameBytes { get; set; } = 1 << 20;

    /// <summary>Either side closes a connection with no packet in either direction for this long.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Bound on TCP connect plus handshake, on both sides.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First reconnect delay after a failed dial; doubles per failure up to <see cref="BackoffMax"/>.</summary>
    public TimeSpan BackoffMin { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Messages waiting for one peer; beyond this a send is refused (loudly) rather than buffered without bound.</summary>
    public int MaxQueuedMessages { get; set; } = 10_000;

    /// <summary>CIDR ranges a peer may be dialled in although refused by default (e.g. <c>127.0.0.0/8</c> for sites on one machine).</summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>CIDR ranges a peer is never dialled in, on top of the default refusals; wins over <see cref="AllowedNetworks"/>.</summary>
    public List<string> DeniedNetworks { get; set; } = [];

    /// <summary>
    /// Reads the two network lists from <paramref name="section"/> (the <c>Peer</c> section): an indexed list
    /// (<c>Peer:AllowedNetworks:0</c>) or one value with commas (<c>MYCHIPS__Peer__AllowedNetworks=127.0.0.0/8,::1/128</c>),
    /// which the binder alone would silently drop.
    /// </summary>
    public void ReadNetworks(Microsoft.Extensions.Configuration.IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        AllowedNetworks = Networks(section.GetSection(nameof(AllowedNetworks)));
        DeniedNetworks = Networks(section.GetSection(nameof(DeniedNetworks)));

        static List<string> Networks(Microsoft.Extensions.Configuration.IConfigurationSection list) =>
            [.. (list.Value is { } single ? [single] : list.GetChildren().Select(c => c.Value ?? ""))
                .SelectMany(v => v.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
    }

    public PeerTransportMode ModeFor(string agentId) =>
        PeerModes.TryGetValue(agentId, out var mode) ? mode : Mode;

    /// <summary>True if any peer may use raw mode (worth a warning at start).</summary>
    public bool AnyRaw => Mode == PeerTransportMode.Raw || PeerModes.Values.Any(m => m == PeerTransportMode.Raw);

    /// <summary>
    /// True for a peer configured as a reference (legacy) node: raw, or Noise with the reference's swapped keys. Such
    /// a peer verifies user signatures only as P-521 (PROTOCOL §3.1).
    /// </summary>
    public bool IsReferencePeer(string agentId) => ModeFor(agentId) is PeerTransportMode.Raw or PeerTransportMode.NoiseReference;

    private static bool IsAgentId(string agent) =>
        agent.Length == 43 && MyChips.Data.Crypto.Base64Url.TryDecode(agent, out var raw) && raw.Length == 32;

    /// <summary>Parses <see cref="Endpoint"/>; <c>localhost</c> means the IPv4 loopback.</summary>
    public IPEndPoint ParseEndpoint()
    {
        string text = Endpoint.Trim();
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            text = "127.0.0.1" + text["localhost".Length..];
        }

        return IPEndPoint.TryParse(text, out var endpoint)
            ? endpoint
            : throw new FormatException($"{Section}:Endpoint must be address:port, e.g. 127.0.0.1:65430; got '{Endpoint}'.");
    }

    /// <summary>Throws on values that cannot work, naming the key.</summary>
    public void Validate()
    {
        _ = ParseEndpoint();
        if (!Enum.IsDefined(Mode) || Mode == PeerTransportMode.NoiseReference)
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode,
                $"{Section}:Mode must be Noise or Raw; {PeerTransportMode.NoiseReference} is set per reference peer in {Section}:PeerModes:<agent id>, never for every peer.");
        foreach (var (agent, mode) in PeerModes)
        {
            // A mistyped agent ID would silently leave that peer on the default mode.
            if (!IsAgentId(agent))
                throw new ArgumentException($"{Section}:PeerModes:{agent}: '{agent}' is not an agent ID (43 characters of unpadded base64url, a 32-byte key).", nameof(PeerModes));
            if (!Enum.IsDefined(mode))
                throw new ArgumentOutOfRangeException(nameof(PeerModes), mode, $"{Section}:PeerModes:{agent} must be Noise, Raw or {PeerTransportMode.NoiseReference}.");
        }

        foreach (var (key, list) in new[] { (nameof(AllowedNetworks), AllowedNetworks), (nameof(DeniedNetworks), DeniedNetworks) })
        {
            foreach (var network in list)
            {
                if (!IPNetwork.TryParse(network, out _))
                    throw new ArgumentException($"{Section}:{key}: '{network}' is not a network in CIDR form, e.g. 127.0.0.0/8 or fc00::/7 (host bits are cleared: 127.0.0.1/8 is 127.0.0.0/8).", key);
            }
        }

        if (MaxFrameBytes < 1024)
            throw new ArgumentOutOfRangeException(nameof(MaxFrameBytes), MaxFrameBytes, $"{Section}:MaxFrameBytes must be at least 1024.");
        if (IdleTimeout <= TimeSpan.Zero || ConnectTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(IdleTimeout), $"{Section}:IdleTimeout and ConnectTimeout must be positive.");
        if (BackoffMin <= TimeSpan.Zero || BackoffMax < BackoffMin)
            throw new ArgumentOutOfRangeException(nameof(BackoffMin), $"{Section}:BackoffMin must be positive and at most BackoffMax.");
        if (MaxQueuedMessages < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedMessages), MaxQueuedMessages, $"{Section}:MaxQueuedMessages must be positive.");
    }
}
