using MyChips.Data;
using MyChips.Server.Hosting;

namespace MyChips.Server.Upgrade;

/// <summary>Registers the upgrade mode: schema start-up, fencing (DESIGN.md 4).</summary>
internal static class UpgradeModeExtensions
{
    public static IServiceCollection AddUpgradeMode(this IServiceCollection services)
    {
        services.AddHostedService<SchemaStartupService>();
        return services;
    }

    public static WebApplication UseUpgradeMode(this WebApplication app)
    {
        var status = app.Services.GetRequiredService<InstanceStatus>();
        var logger = app.Services.GetRequiredService<ILogger<SiteTransactions>>();
        app.Services.GetRequiredService<SiteTransactions>().Fenced += refusal =>
        {
            logger.LogCritical("Fenced: {Message}", refusal.Message);
            status.Set(InstanceState.Fenced, $"{FencedException.Code}: {refusal.Message}");
        };
        return app;
    }
}
