namespace MyChips.Server.Peer;

/// <summary>
/// Messages and first contacts refused from peers: each is logged with its reason, counted, and the newest few are
/// kept for diagnostics (and tests). Thread-safe.
/// </summary>
public sealed class PeerRefusals(ILogger<PeerRefusals> logger)
{
    private const int Keep = 100;
    private readonly Lock _gate = new();
    private readonly Queue<PeerRefusal> _recent = new();
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public IReadOnlyList<PeerRefusal> Recent
    {
        get { lock (_gate) { return [.. _recent]; } }
    }

    public void Record(string peerAgent, string what, string reason)
    {
        logger.LogWarning("Refused {What} from peer {Peer}: {Reason}; nothing was written", what, peerAgent, reason);
        Interlocked.Increment(ref _count);
        lock (_gate)
        {
            if (_recent.Count == Keep)
                _recent.Dequeue();
            _recent.Enqueue(new PeerRefusal(DateTimeOffset.UtcNow, peerAgent, what, reason));
        }
    }
}

/// <summary>One refusal: when, from whom, what (e.g. <c>chit/good</c>) and why.</summary>
public sealed record PeerRefusal(DateTimeOffset At, string PeerAgent, string What, string Reason);
