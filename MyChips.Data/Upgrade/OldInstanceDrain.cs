using Microsoft.Extensions.Logging;
using MyChips.Data.Schema;

namespace MyChips.Data.Upgrade;

/// <summary>
/// What the upgrade leader does before a contract migration (DESIGN.md 4.3): ask every instance whose code does not
/// know the migration to drain, then wait, bounded, until none of them has a fresh heartbeat. Past the bound it
/// goes on anyway: the fence (DESIGN.md 4.4) still refuses any write of theirs.
/// </summary>
public sealed class OldInstanceDrain(InstanceRegistry registry, OldInstanceDrainOptions options, TimeProvider time, ILogger<OldInstanceDrain> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    public async Task BeforeContractAsync(Migration migration, string requestedBy, CancellationToken cancellationToken)
    {
        var request = DrainRequest.ForOlderThan(migration.Number, $"contract migration {migration.FileName} by {requestedBy}");
        var started = time.GetTimestamp();
        var asked = new HashSet<Guid>();
        while (true)
        {
            // Asked again at every poll: an old instance that registered after the first request is caught too.
            asked.UnionWith(await registry.RequestDrainAsync(request, cancellationToken).ConfigureAwait(false));
            var live = await registry.CountLiveOlderThanAsync(migration.Number, options.HeartbeatExpiry, cancellationToken).ConfigureAwait(false);
            var waited = time.GetElapsedTime(started);
            if (live == 0)
            {
                logger.LogInformation("Before contract migration {Migration}: {Count} old instance(s) drained in {Elapsed} ms",
                    migration.FileName, asked.Count, (long)waited.TotalMilliseconds);
                return;
            }

            if (waited >= options.WaitTimeout)
            {
                logger.LogWarning("Before contract migration {Migration}: {Live} old instance(s) still alive after {Timeout} s; "
                    + "going on, the fence refuses their writes", migration.FileName, live, options.WaitTimeout.TotalSeconds);
                return;
            }

            await Task.Delay(PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
