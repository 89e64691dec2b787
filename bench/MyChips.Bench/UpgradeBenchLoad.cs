using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace MyChips.Bench;

/// <summary>One request of the bench load after its retries.</summary>
internal sealed record UpgradeBenchOutcome(bool Succeeded, int Attempts, long HeldMs, TimeSpan Latency);

/// <summary>
/// The bench's write load, with the retry policy of a load balancer: round robin; a refused connection or a 503 is
/// retried on the next instance with the same idempotency key (up to 60 attempts, 45 s); anything else is final.
/// </summary>
internal sealed class UpgradeBenchLoad(IEnumerable<string> targets, int workers) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(40) };
    private readonly ConcurrentQueue<UpgradeBenchOutcome> _outcomes = new();
    private volatile string[] _targets = targets.ToArray();
    private long _sent;
    private long _next;

    public IReadOnlyCollection<UpgradeBenchOutcome> Outcomes => _outcomes;

    public long Sent => Interlocked.Read(ref _sent);

    public void SetTargets(IEnumerable<string> targets) => _targets = targets.ToArray();

    public async Task RunAsync(TimeSpan maxDuration, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (!stop.IsCancellationRequested && clock.Elapsed < maxDuration)
            {
                var index = Interlocked.Increment(ref _sent);
                _outcomes.Enqueue(await SendAsync($"b{index}-{Guid.NewGuid():N}", index));
            }
        }));
    }

    public void Dispose() => _http.Dispose();

    private async Task<UpgradeBenchOutcome> SendAsync(string key, long amount)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; attempt <= 60 && clock.Elapsed < TimeSpan.FromSeconds(45); attempt++)
        {
            var targets = _targets;
            var target = targets[(int)(Interlocked.Increment(ref _next) % targets.Length)];
            try
            {
                using var response = await _http.PostAsync($"{target}/diagnostics/probe?key={key}&amount={amount}", content: null);
                if (response.IsSuccessStatusCode)
                {
                    var held = response.Headers.TryGetValues("X-MyChips-Held-Ms", out var values)
                        ? long.Parse(values.First(), System.Globalization.CultureInfo.InvariantCulture) : 0;
                    return new UpgradeBenchOutcome(true, attempt, held, clock.Elapsed);
                }

                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    return new UpgradeBenchOutcome(false, attempt, 0, clock.Elapsed);
                }
            }
            catch (HttpRequestException)
            {
                // Refused or reset: the balancer tries the next instance.
            }
            catch (TaskCanceledException)
            {
                // Timed out: the same key may be retried safely.
            }

            await Task.Delay(Math.Min(200, 10 * attempt));
        }

        return new UpgradeBenchOutcome(false, 60, 0, clock.Elapsed);
    }
}
