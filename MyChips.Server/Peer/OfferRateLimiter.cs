using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace MyChips.Server.Peer;

/// <summary>
/// Tally offers and tickets per remote agent: a token bucket each (<c>Peer:OfferRate</c> per minute, the same as a
/// burst). Anyone holding a key can send them to any user, and each costs a signature check and a transaction; past the
/// rate a message is not applied and gets no receipt, so an honest sender simply tries again later. A first-contact
/// ticket is checked during the handshake under its own key (<c>handshake:</c> + agent), so it does not count twice.
/// </summary>
internal sealed class OfferRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public OfferRateLimiter(IOptions<SitePeerOptions> options)
    {
        var rate = options.Value.OfferRate;
        _limiter = PartitionedRateLimiter.Create<string, string>(agent => RateLimitPartition.GetTokenBucketLimiter(agent, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = rate,
            TokensPerPeriod = rate,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>Whether a tally message (<paramref name="action"/>) from <paramref name="key"/> (an agent) may be applied now.</summary>
    public bool Admit(string key, string? action)
    {
        if (action is not ("offer" or "ticket"))
            return true;
        using var lease = _limiter.AttemptAcquire(key);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
