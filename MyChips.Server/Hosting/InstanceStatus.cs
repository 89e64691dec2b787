namespace MyChips.Server.Hosting;

/// <summary>
/// This process's current <see cref="InstanceState"/> and why; what <c>/readyz</c> reports. Thread-safe.
/// </summary>
public sealed class InstanceStatus
{
    private readonly Lock _gate = new();
    private (InstanceState State, string? Reason) _current = (InstanceState.Starting, null);

    public InstanceState State
    {
        get { lock (_gate) { return _current.State; } }
    }

    public string? Reason
    {
        get { lock (_gate) { return _current.Reason; } }
    }

    /// <summary>Raised after every change, with the new state.</summary>
    public event Action<InstanceState>? Changed;

    public (InstanceState State, string? Reason) Snapshot()
    {
        lock (_gate)
        {
            return _current;
        }
    }

    /// <summary>Moves to <paramref name="state"/> only from one of <paramref name="from"/>; false when it was in another state.</summary>
    public bool SetIf(ReadOnlySpan<InstanceState> from, InstanceState state, string? reason = null)
    {
        lock (_gate)
        {
            if (!from.Contains(_current.State))
            {
                return false;
            }

            if (_current == (state, reason))
            {
                return true;
            }

            _current = (state, reason);
        }

        Changed?.Invoke(state);
        return true;
    }

    public void Set(InstanceState state, string? reason = null)
    {
        lock (_gate)
        {
            if (_current == (state, reason))
            {
                return;
            }

            _current = (state, reason);
        }

        Changed?.Invoke(state);
    }
}
