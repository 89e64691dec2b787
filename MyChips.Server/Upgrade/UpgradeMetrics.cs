using System.Globalization;
using System.Text;

namespace MyChips.Server.Upgrade;

/// <summary>
/// Counters of the web listener and the hold gate, written by many threads and read by <c>/metrics</c>
/// (Prometheus text format). Plain interlocked counters: no metrics package needed.
/// </summary>
public sealed class UpgradeMetrics
{
    /// <summary>Upper bounds (seconds) of the hold duration histogram.</summary>
    private static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly long[] _bucketCounts = new long[Buckets.Length];
    private long _requests;
    private long _held;
    private long _holdRejected;
    private long _holdCount;
    private long _holdSumMicroseconds;
    private long _holdMaxMicroseconds;

    public long Requests => Interlocked.Read(ref _requests);

    public long Held => Interlocked.Read(ref _held);

    public long HoldRejectedCount => Interlocked.Read(ref _holdRejected);

    public TimeSpan HoldMax => TimeSpan.FromMicroseconds(Interlocked.Read(ref _holdMaxMicroseconds));

    public void RequestStarted() => Interlocked.Increment(ref _requests);

    public void HoldStarted() => Interlocked.Increment(ref _held);

    public void HoldRejected() => Interlocked.Increment(ref _holdRejected);

    /// <summary>Records the duration of one hold; a hold that ended in a timeout or refusal also counts as rejected.</summary>
    public void HoldEnded(TimeSpan duration, bool rejected)
    {
        if (rejected)
        {
            HoldRejected();
        }

        var microseconds = (long)duration.TotalMicroseconds;
        Interlocked.Increment(ref _holdCount);
        Interlocked.Add(ref _holdSumMicroseconds, microseconds);
        for (var max = Interlocked.Read(ref _holdMaxMicroseconds); microseconds > max;
             max = Interlocked.Read(ref _holdMaxMicroseconds))
        {
            if (Interlocked.CompareExchange(ref _holdMaxMicroseconds, microseconds, max) == max)
            {
                break;
            }
        }

        var index = Array.FindIndex(Buckets, bound => duration.TotalSeconds <= bound);
        if (index >= 0)
        {
            Interlocked.Increment(ref _bucketCounts[index]);
        }
    }

    /// <summary>Appends the counters in Prometheus text exposition format.</summary>
    public void WriteTo(StringBuilder text)
    {
        Counter(text, "mychips_requests_total", "Web requests that reached the hold gate.", Requests);
        Counter(text, "mychips_held_requests_total", "Requests (and frames, packets) held by the hold gate.", Held);
        Counter(text, "mychips_hold_rejected_total", "Work the hold gate turned away with 503 (hold timeout, draining, fenced).", HoldRejectedCount);

        text.Append("# HELP mychips_hold_duration_seconds How long held work waited in the hold gate.\n");
        text.Append("# TYPE mychips_hold_duration_seconds histogram\n");
        long cumulative = 0;
        for (var i = 0; i < Buckets.Length; i++)
        {
            cumulative += Interlocked.Read(ref _bucketCounts[i]);
            text.Append(CultureInfo.InvariantCulture, $"mychips_hold_duration_seconds_bucket{{le=\"{Buckets[i]}\"}} {cumulative}\n");
        }

        var count = Interlocked.Read(ref _holdCount);
        text.Append(CultureInfo.InvariantCulture, $"mychips_hold_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n");
        text.Append(CultureInfo.InvariantCulture, $"mychips_hold_duration_seconds_sum {Interlocked.Read(ref _holdSumMicroseconds) / 1e6}\n");
        text.Append(CultureInfo.InvariantCulture, $"mychips_hold_duration_seconds_count {count}\n");
        text.Append("# HELP mychips_hold_duration_seconds_max The longest hold since start.\n");
        text.Append("# TYPE mychips_hold_duration_seconds_max gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"mychips_hold_duration_seconds_max {HoldMax.TotalSeconds}\n");
    }

    private static void Counter(StringBuilder text, string name, string help, long value)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");
    }
}
