using Microsoft.Extensions.DependencyInjection.Extensions;
using MyChips.Data.Domain;
using MyChips.Server.Hosting;

namespace MyChips.Server.Api;

/// <summary>Registers the user API of the web listener (JSON over HTTP and the WebSocket) and the domain it calls.</summary>
internal static class UserApiExtensions
{
    public static IServiceCollection AddUserApi(this IServiceCollection services)
    {
        services.AddOptions<DomainOptions>().BindConfiguration(DomainOptions.Section).Configure<IConfiguration>((options, configuration) =>
        {
            // Links point at the web listener unless an operator names a public URL.
            options.PublicUrl = WebListenerOptions.PublicUrl(configuration);
        });
        services.AddDomain();
        services.AddSingleton<UserPushHub>();
        services.AddHostedService(provider => provider.GetRequiredService<UserPushHub>());
        services.AddHostedService<AgentStartupService>();
        return services;
    }

    /// <summary>The domain services of a site (also used by the CLI verbs).</summary>
    public static IServiceCollection AddDomain(this IServiceCollection services)
    {
        // The site's peer configuration replaces this when the server registers its peer side (SitePeerExtensions).
        services.TryAddSingleton<IPeerProfiles, NoReferencePeers>();
        services.AddSingleton<SiteAgents>();
        services.AddSingleton<Users>();
        services.AddSingleton<Sessions>();
        services.AddSingleton<Tickets>();
        services.AddSingleton<LoginChallenges>();
        services.AddSingleton<SignatureVerifier>();
        services.AddSingleton<DomainNotifier>();
        services.AddSingleton<DomainRunner>();
        services.AddSingleton<TallyReceiver>();
        services.AddSingleton<ChainConsensus>();
        services.AddSingleton<ChitReceiver>();
        services.AddSingleton<MessageReceiver>();
        services.AddSingleton<MessageRouter>();
        services.AddSingleton<Tallies>();
        services.AddSingleton<Chits>();
        return services;
    }

    public static IEndpointRouteBuilder MapUserApi(this IEndpointRouteBuilder endpoints)
    {
        if (endpoints is IApplicationBuilder app)
        {
            app.UseWhen(context => context.Request.Path.StartsWithSegments("/api"), api =>
            {
                api.UseMiddleware<ApiErrors>();
                api.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
                api.UseApiRateLimits();
            });
        }

        var group = endpoints.MapGroup("/api");
        LoginEndpoints.Map(group);
        TallyEndpoints.Map(group);
        ChitEndpoints.Map(group);
        PushEndpoint.Map(group);
        return endpoints;
    }
}
