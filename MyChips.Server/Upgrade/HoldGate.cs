namespace MyChips.Server.Upgrade;

/// <summary>
/// The gate in front of every listener (DESIGN.md 4.3): while the instance starts or the schema is being upgraded,
/// work waits here in arrival order and is released in that order when the gate opens; past the hold timeout it is
/// turned away. Web requests pass it in <see cref="HoldGateMiddleware"/>; the native and peer listeners call
/// <see cref="WaitAsync"/> once per frame or packet. Thread-safe.
/// </summary>
public sealed class HoldGate(TimeSpan holdTimeout, UpgradeMetrics metrics, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private HoldGateMode _mode = HoldGateMode.Hold;
    private string? _reason = "starting";

    public HoldGateMode Mode
    {
        get { lock (_lock) { return _mode; } }
    }

    /// <summary>How many units of work are waiting now.</summary>
    public int Waiting
    {
        get { lock (_lock) { return _waiters.Count; } }
    }

    /// <summary>Waits until the work may go on, is turned away, or <paramref name="cancellationToken"/> fires.</summary>
    /// <exception cref="OperationCanceledException">The caller gave up (e.g. the client went away).</exception>
    public ValueTask<HoldResult> WaitAsync(CancellationToken cancellationToken)
    {
        LinkedListNode<Waiter> node;
        lock (_lock)
        {
            switch (_mode)
            {
                case HoldGateMode.Open when _waiters.Count == 0:
                    return new ValueTask<HoldResult>(new HoldResult(HoldOutcome.Admitted, TimeSpan.Zero, null));
                case HoldGateMode.Refuse:
                    metrics.HoldRejected();
                    return new ValueTask<HoldResult>(new HoldResult(HoldOutcome.Refused, TimeSpan.Zero, _reason));
            }

            node = _waiters.AddLast(new Waiter(time.GetTimestamp()));
        }

        return new ValueTask<HoldResult>(HoldAsync(node, cancellationToken));
    }

    /// <summary>Lets new work through and releases the held work in arrival order.</summary>
    public void Open() => Switch(HoldGateMode.Open, null);

    /// <summary>Queues new work until <see cref="Open"/>.</summary>
    public void Hold(string reason) => Switch(HoldGateMode.Hold, reason);

    /// <summary>Turns new and held work away with <paramref name="reason"/>.</summary>
    public void Refuse(string reason) => Switch(HoldGateMode.Refuse, reason);

    private void Switch(HoldGateMode mode, string? reason)
    {
        lock (_lock)
        {
            _mode = mode;
            _reason = reason;
            if (mode == HoldGateMode.Hold)
            {
                return;
            }

            // Completed under the lock, front to back: continuations run asynchronously, in this order.
            var outcome = mode == HoldGateMode.Open ? HoldOutcome.Admitted : HoldOutcome.Refused;
            var now = time.GetTimestamp();
            while (_waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                first.Value.Completion.TrySetResult(new HoldResult(outcome, time.GetElapsedTime(first.Value.Since, now), reason));
            }
        }
    }

    private async Task<HoldResult> HoldAsync(LinkedListNode<Waiter> node, CancellationToken cancellationToken)
    {
        metrics.HoldStarted();
        HoldResult result;
        try
        {
            result = await node.Value.Completion.Task.WaitAsync(holdTimeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            result = Withdraw(node) ?? new HoldResult(HoldOutcome.TimedOut, time.GetElapsedTime(node.Value.Since),
                $"held longer than the hold timeout ({holdTimeout.TotalSeconds:F0} s) while {_reason}");
        }
        catch (OperationCanceledException)
        {
            Withdraw(node);
            metrics.HoldEnded(time.GetElapsedTime(node.Value.Since), rejected: false); // the caller left; nobody was turned away
            throw;
        }

        metrics.HoldEnded(result.HeldFor, rejected: !result.Admitted);
        return result;
    }

    // Null when the waiter left the queue by itself; else the result it was given meanwhile.
    private HoldResult? Withdraw(LinkedListNode<Waiter> node)
    {
        lock (_lock)
        {
            if (node.List is not null)
            {
                _waiters.Remove(node);
                return null;
            }
        }

        return node.Value.Completion.Task.Result;
    }

    private sealed class Waiter(long since)
    {
        public long Since { get; } = since;

        public TaskCompletionSource<HoldResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
