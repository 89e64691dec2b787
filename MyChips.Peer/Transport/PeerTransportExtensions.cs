using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MyChips.Peer.Transport;

/// <summary>Registration of the peer transport in a host.</summary>
public static class PeerTransportExtensions
{
    /// <summary>
    /// Binds section <c>Peer</c> and registers <see cref="PeerConnectionManager"/>. The host must also register a
    /// <see cref="PeerIdentity"/> (from the agent key file) and the domain's <see cref="IPeerMessageSink"/>.
    /// </summary>
    public static IServiceCollection AddPeerTransport(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<PeerTransportOptions>()
            .Bind(configuration.GetSection(PeerTransportOptions.Section))
            .PostConfigure(o => o.ReadNetworks(configuration.GetSection(PeerTransportOptions.Section)))
            .Validate(o =>
            {
                o.Validate();
                return true;
            });
        services.TryAddSingleton<PeerKeyResolver>();
        services.TryAddSingleton<PeerConnectionManager>();
        services.AddHostedService<PeerTransportStartup>();
        return services;
    }

    /// <summary>Reads section <c>Peer</c> as options, for <see cref="ListenPeer"/> before the container exists.</summary>
    public static PeerTransportOptions GetPeerTransportOptions(this IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(PeerTransportOptions.Section);

        // The binder silently drops a dictionary entry whose value is not a mode name: that peer would quietly get
        // the default mode, so a misspelt mode is refused here instead.
        foreach (var entry in section.GetSection(nameof(PeerTransportOptions.PeerModes)).GetChildren())
        {
            if (!Enum.TryParse<PeerTransportMode>(entry.Value, ignoreCase: true, out var mode) || !Enum.IsDefined(mode) || int.TryParse(entry.Value, out _))
                throw new ArgumentException($"{entry.Path} is '{entry.Value}'; it must be Noise, Raw or {PeerTransportMode.NoiseReference}.");
        }

        var options = new PeerTransportOptions();
        section.Bind(options);
        options.ReadNetworks(section);
        options.Validate();
        return options;
    }

    /// <summary>
    /// Adds the peer listener on <see cref="PeerTransportOptions.Endpoint"/> and returns its listen options; after the
    /// server starts, <c>((IPEndPoint)listen.EndPoint)</c> holds the bound port (useful with port 0).
    /// </summary>
    public static ListenOptions ListenPeer(this KestrelServerOptions kestrel, PeerTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(options);
        ListenOptions? listen = null;
        kestrel.Listen(options.ParseEndpoint(), l =>
        {
            l.UseConnectionHandler<PeerListenerHandler>();
            listen = l;
        });
        return listen!;
    }
}
