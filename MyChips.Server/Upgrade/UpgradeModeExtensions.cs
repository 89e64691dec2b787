using Microsoft.Extensions.Options;
using MyChips.Data;
using MyChips.Data.Upgrade;
using MyChips.Server.Endpoints;
using MyChips.Server.Hosting;

namespace MyChips.Server.Upgrade;

/// <summary>
/// Registers the upgrade mode (DESIGN.md 4): registry and heartbeats, drain requests, schema start-up and
/// leadership, the hold gate in front of the listeners, fencing, <c>/metrics</c> and the write probe.
/// </summary>
internal static class UpgradeModeExtensions
{
    public static IServiceCollection AddUpgradeMode(this IServiceCollection services, IConfiguration configuration)
    {
        // Checked while building, so a bad value stops the start as a configuration error naming its key.
        configuration.Bind<UpgradeOptions>(UpgradeOptions.Section).Validate();
        services.AddOptions<UpgradeOptions>().BindConfiguration(UpgradeOptions.Section);
        services.AddOptions<ProbeOptions>().BindConfiguration(ProbeOptions.Section);
        // Draining is the host's graceful shutdown: Kestrel finishes in-flight requests within this timeout.
        services.AddOptions<HostOptions>().Configure<IOptions<UpgradeOptions>>((host, upgrade) => host.ShutdownTimeout = upgrade.Value.DrainTimeout);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<UpgradeMetrics>();
        services.AddSingleton(provider =>
        {
            var gate = new HoldGate(provider.GetRequiredService<IOptions<UpgradeOptions>>().Value.HoldTimeout,
                provider.GetRequiredService<UpgradeMetrics>(), provider.GetRequiredService<TimeProvider>());
            GateFollowsStatus.Bind(gate, provider.GetRequiredService<InstanceStatus>());
            return gate;
        });
        services.AddSingleton(provider =>
        {
            var upgrade = provider.GetRequiredService<IOptions<UpgradeOptions>>().Value;
            return new OldInstanceDrainOptions(upgrade.HeartbeatExpiry, upgrade.OldInstanceWaitTimeout);
        });
        services.AddSingleton<OldInstanceDrain>();
        services.AddSingleton<InstanceFence>();
        services.AddSingleton<InstanceDrain>();
        services.AddHostedService<InstanceRegistrationService>();
        services.AddHostedService<DrainListenerService>();
        services.AddHostedService<SchemaStartupService>();
        return services;
    }

    public static WebApplication UseUpgradeMode(this WebApplication app)
    {
        var fence = app.Services.GetRequiredService<InstanceFence>();
        app.Services.GetRequiredService<SiteTransactions>().Fenced += refusal => fence.Fence($"{FencedException.Code}: {refusal.Message}");
        app.UseMiddleware<HoldGateMiddleware>();
        app.MapMetrics();
        app.MapProbe();
        return app;
    }
}
