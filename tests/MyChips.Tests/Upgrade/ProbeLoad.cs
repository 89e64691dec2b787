using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace MyChips.Tests.Upgrade;

/// <summary>One request of the load: its final outcome after the retry policy.</summary>
/// <param name="HeldMs">What the instance that answered says the request waited in its hold gate (0: not held).</param>
public sealed record ProbeOutcome(string Key, long Amount, bool Succeeded, int Attempts, string Final, long HeldMs, TimeSpan Latency);

/// <summary>
/// A bounded write load over loopback against a set of instances, with the retry policy of a load balancer in front
/// of a site: each request goes to the next instance in turn; on a refused or reset connection or a 503 (draining,
/// fenced, hold timeout) it is sent again, same idempotency key, to the next instance, up to 60 attempts within
/// 45 s. Any other answer is final. A request failed when its final answer is not 2xx.
/// </summary>
public sealed class ProbeLoad(IEnumerable<string> targets, int workers) : IDisposable
{
    private const int MaxAttempts = 60;
    private static readonly TimeSpan RequestBudget = TimeSpan.FromSeconds(45);

    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        Timeout = TimeSpan.FromSeconds(40), // above the 30 s hold timeout: a held request is answered by the server
    };
    private readonly ConcurrentQueue<ProbeOutcome> _outcomes = new();
    private volatile string[] _targets = targets.ToArray();
    private long _sent;
    private long _next;

    public IReadOnlyCollection<ProbeOutcome> Outcomes => _outcomes;

    public long Sent => Interlocked.Read(ref _sent);

    public int Succeeded => _outcomes.Count(o => o.Succeeded);

    /// <summary>The instances the balancer sends to (a deploy adds the new ones).</summary>
    public void SetTargets(IEnumerable<string> targets) => _targets = targets.ToArray();

    /// <summary>Runs until <paramref name="stop"/>, <paramref name="maxRequests"/> or <paramref name="maxDuration"/>; every request sent is awaited.</summary>
    public async Task RunAsync(int maxRequests, TimeSpan maxDuration, CancellationToken stop)
    {
        var deadline = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (!stop.IsCancellationRequested && deadline.Elapsed < maxDuration)
            {
                var index = Interlocked.Increment(ref _sent);
                if (index > maxRequests)
                {
                    Interlocked.Decrement(ref _sent);
                    return;
                }

                _outcomes.Enqueue(await SendAsync($"k{index}-{Guid.NewGuid():N}", index));
            }
        }));
    }

    public void Dispose() => _http.Dispose();

    private async Task<ProbeOutcome> SendAsync(string key, long amount)
    {
        var clock = Stopwatch.StartNew();
        var final = "";
        for (var attempt = 1; attempt <= MaxAttempts && clock.Elapsed < RequestBudget; attempt++)
        {
            var targets = _targets;
            var target = targets[(int)(Interlocked.Increment(ref _next) % targets.Length)];
            try
            {
                using var response = await _http.PostAsync($"{target}/diagnostics/probe?key={key}&amount={amount}", content: null);
                if (response.IsSuccessStatusCode)
                {
                    var held = response.Headers.TryGetValues("X-MyChips-Held-Ms", out var values) ? long.Parse(values.First(), System.Globalization.CultureInfo.InvariantCulture) : 0;
                    return new ProbeOutcome(key, amount, true, attempt, "200", held, clock.Elapsed);
                }

                final = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    return new ProbeOutcome(key, amount, false, attempt, final, 0, clock.Elapsed);
                }
            }
            catch (HttpRequestException e)
            {
                final = $"connection: {e.Message}";
            }
            catch (TaskCanceledException)
            {
                final = "timeout";
            }

            await Task.Delay(Math.Min(200, 10 * attempt));
        }

        return new ProbeOutcome(key, amount, false, MaxAttempts, final, 0, clock.Elapsed);
    }
}
