using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.AspNetCore.Connections;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Server.Hosting;

namespace MyChips.Server.Peer;

/// <summary>
/// Registers the site's peer side: the listener on <c>Peer:Endpoint</c> (Kestrel), the transport created from the
/// database's agent key, the domain sink, and the outbox sender. On by default; <c>Peer:Enabled=false</c> leaves a
/// site without peers (messages for other sites then wait in the outbox).
/// </summary>
internal static class SitePeerExtensions
{
    public static WebApplicationBuilder AddSitePeer(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var site = configuration.Bind<SitePeerOptions>(SitePeerOptions.Section);
        if (site.OfferRate is < 1 or > 100_000)
            throw new ConfigurationException($"Peer:OfferRate must be from 1 to 100000 offers per minute; got {site.OfferRate}.");
        PeerTransportOptions transport;
        try
        {
            transport = configuration.GetPeerTransportOptions();
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new ConfigurationException($"Configuration section '{PeerTransportOptions.Section}' is invalid: {e.Message}");
        }

        // Even without a listener, the domain must know which partners are reference nodes (their messages wait in
        // the outbox, and a tally with them needs P-521 keys).
        builder.Services.Replace(ServiceDescriptor.Singleton<IPeerProfiles>(new SitePeerProfiles(transport)));
        // The API checks a redeemed CHAD's host with the same policy as the dialer (a clear 400 before anything is queued).
        builder.Services.AddSingleton(PeerAddressPolicy.From(transport));
        if (!site.Enabled)
            return builder;

        var binding = new PeerListenerBinding();
        var endpoint = transport.ParseEndpoint();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(endpoint, listen =>
        {
            listen.UseConnectionHandler<SitePeerListenerHandler>();
            binding.Listen = listen;
        }));

        var services = builder.Services;
        services.AddOptions<PeerTransportOptions>().Bind(configuration.GetSection(PeerTransportOptions.Section))
            .PostConfigure(o => o.ReadNetworks(configuration.GetSection(PeerTransportOptions.Section)));
        services.AddOptions<SitePeerOptions>().Bind(configuration.GetSection(SitePeerOptions.Section));
        services.AddSingleton(binding);
        services.AddSingleton<AgentAddress>();
        services.AddSingleton<PeerKeyResolver>();
        services.AddSingleton<SitePeerTransport>();
        services.AddSingleton<PeerRefusals>();
        services.AddSingleton<OfferRateLimiter>();
        services.AddSingleton<PeerMetrics>();
        services.AddSingleton<OutboxWakeup>();
        services.AddSingleton<OutboxReceiptQueue>();
        services.AddSingleton<OutboxStore>();
        services.AddSingleton<PeerInbox>();
        services.AddSingleton<ChainResync>();
        services.AddSingleton<IPeerMessageSink, DomainPeerSink>();
        services.AddHostedService<SitePeerStartupService>();
        services.AddHostedService<OutboxSender>();
        return builder;
    }
}
