using System.Net;

namespace MyChips.Peer.Transport;

/// <summary>
/// Which addresses the site may dial for a peer (SSRF guard): a CHAD names any host, and a real partner site is never on
/// this machine's loopback or private network. Refused by default: loopback, private (RFC 1918, fc00::/7), link-local,
/// multicast, unspecified and broadcast. <c>Peer:DeniedNetworks</c> refuses more; <c>Peer:AllowedNetworks</c> opens
/// ranges (e.g. 127.0.0.0/8 for two sites on one machine). Denied wins over allowed. The dialer checks the very address
/// it connects to, after resolution, so a name that re-resolves elsewhere (DNS rebinding) gains nothing.
/// </summary>
public sealed class PeerAddressPolicy
{
    private static readonly IPNetwork[] RefusedByDefault =
    [
        IPNetwork.Parse("0.0.0.0/8"),        // unspecified, "this network"
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),   // link-local, cloud metadata endpoints
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("224.0.0.0/4"),      // multicast
        IPNetwork.Parse("255.255.255.255/32"),
        IPNetwork.Parse("::/128"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("fc00::/7"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("ff00::/8"),
    ];

    private readonly IPNetwork[] _allowed;
    private readonly IPNetwork[] _denied;

    public PeerAddressPolicy(IEnumerable<IPNetwork> allowed, IEnumerable<IPNetwork> denied)
    {
        _allowed = [.. allowed];
        _denied = [.. denied];
    }

    /// <summary>The policy of <paramref name="options"/> (already validated).</summary>
    public static PeerAddressPolicy From(PeerTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new PeerAddressPolicy(options.AllowedNetworks.Select(IPNetwork.Parse), options.DeniedNetworks.Select(IPNetwork.Parse));
    }

    public bool IsAllowed(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4(); // ::ffff:127.0.0.1 is 127.0.0.1
        if (_denied.Any(n => n.Contains(address)))
            return false;
        return _allowed.Any(n => n.Contains(address)) || !RefusedByDefault.Any(n => n.Contains(address));
    }

    /// <summary>
    /// The addresses of <paramref name="host"/> (an IP literal or a name, resolved now) that may be dialled. Throws
    /// <see cref="PeerSendException"/> (<see cref="PeerSendFailure.AddressNotAllowed"/>) when none may.
    /// </summary>
    public async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        var allowed = addresses.Where(IsAllowed).ToArray();
        if (allowed.Length == 0)
            throw new PeerSendException(PeerSendFailure.AddressNotAllowed,
                $"Peer host '{host}' ({string.Join(", ", addresses.Select(a => a.ToString()))}) is a loopback, private, link-local, multicast or unspecified address, or in {PeerTransportOptions.Section}:DeniedNetworks; {PeerTransportOptions.Section}:AllowedNetworks opens a range.");
        return allowed;
    }
}
