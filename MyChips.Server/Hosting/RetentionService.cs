using Microsoft.Extensions.Options;
using MyChips.Data;
using MyChips.Data.Retention;
using MyChips.Server.Peer;
using Npgsql;

namespace MyChips.Server.Hosting;

/// <summary>
/// Prunes rows past their retention (<see cref="RetentionPruner"/>) every <c>Retention:Interval</c> once the instance
/// serves. Any number of instances run it; the pruner's advisory lock lets one prune at a time and the others skip.
/// </summary>
internal sealed class RetentionService(
    RetentionPruner pruner,
    InstanceStatus status,
    IOptions<RetentionOptions> options,
    ILogger<RetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (status.State is InstanceState.Fenced or InstanceState.Stopped or InstanceState.Draining)
                    return;
                if (status.State == InstanceState.Serving)
                    await RunOnceAsync(settings, stoppingToken).ConfigureAwait(false);
                // Before serving (starting, holding for an upgrade): look again soon.
                await Task.Delay(status.State == InstanceState.Serving ? settings.Interval : TimeSpan.FromMilliseconds(200), stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunOnceAsync(RetentionOptions settings, CancellationToken stoppingToken)
    {
        try
        {
            var result = await pruner.RunAsync(settings, stoppingToken).ConfigureAwait(false);
            if (result.Skipped)
                logger.LogDebug("Retention: another instance is pruning; skipped");
            else if (result.Total > 0)
                logger.LogInformation("Retention: deleted {Tokens} tokens, {Outbox} outbox rows, {Received} received message ids, {Events} user events, {Redemptions} redemptions in {Batches} batches",
                    result.Deleted["tokens"], result.Deleted["outbox"], result.Deleted["received_messages"], result.Deleted["user_events"], result.Deleted["redemptions"], result.Batches);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is NpgsqlException or FencedException or InvalidOperationException or TimeoutException)
        {
            // Nothing is lost: the rows are still there for the next run.
            logger.LogWarning("Retention run failed ({Message}); trying again in {Interval}", e.Message, settings.Interval);
        }
    }
}

internal static class RetentionExtensions
{
    /// <summary>Validates section <c>Retention</c> (a bad value stops the start, naming the key) and registers the pruning.</summary>
    public static IServiceCollection AddRetention(this IServiceCollection services, IConfiguration configuration)
    {
        var retention = configuration.Bind<RetentionOptions>(RetentionOptions.Section);
        if (retention.Problem() is { } problem)
            throw new ConfigurationException(problem);
        services.AddOptions<RetentionOptions>().Bind(configuration.GetSection(RetentionOptions.Section));
        services.AddSingleton<RetentionPruner>();
        if (!retention.Enabled)
            return services;

        // Partners usually run our defaults: a received id kept for less than our own give-up time is a likely mistake.
        var peer = configuration.Bind<SitePeerOptions>(SitePeerOptions.Section);
        var horizon = TimeSpan.FromTicks((long)Math.Min(TimeSpan.MaxValue.Ticks / 2.0, (double)peer.MaxRetryWait.Ticks * Math.Max(1, peer.MaxTries)));
        if (retention.ReceivedMessages < horizon)
            services.AddHostedService(provider => new RetentionHorizonWarning(provider.GetRequiredService<ILogger<RetentionService>>(), retention.ReceivedMessages, horizon));
        services.AddHostedService<RetentionService>();
        return services;
    }

    private sealed class RetentionHorizonWarning(ILogger logger, TimeSpan kept, TimeSpan horizon) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            logger.LogWarning("Retention:ReceivedMessages ({Kept}) is shorter than the time a sender with this site's Peer:MaxTries and Peer:MaxRetryWait keeps re-sending ({Horizon}): a late re-send could be applied twice",
                kept, horizon);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
