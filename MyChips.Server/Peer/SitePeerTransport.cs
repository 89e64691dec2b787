using MyChips.Peer.Transport;

namespace MyChips.Server.Peer;

/// <summary>
/// The site's <see cref="PeerConnectionManager"/>, which exists only once the agent key has been read from the
/// database (after migrations); the listener and the outbox sender wait for it here.
/// </summary>
public sealed class SitePeerTransport : IAsyncDisposable
{
    private readonly TaskCompletionSource<PeerConnectionManager> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PeerIdentity? _identity;

    /// <summary>The manager, or null before the agent is known.</summary>
    public PeerConnectionManager? Current => _ready.Task.IsCompletedSuccessfully ? _ready.Task.Result : null;

    public Task<PeerConnectionManager> WaitAsync(CancellationToken cancellationToken) => _ready.Task.WaitAsync(cancellationToken);

    internal void Set(PeerConnectionManager manager, PeerIdentity identity)
    {
        _identity = identity;
        if (!_ready.TrySetResult(manager))
            throw new InvalidOperationException("The peer transport is already set.");
    }

    public async ValueTask DisposeAsync()
    {
        if (Current is { } manager)
            await manager.DisposeAsync().ConfigureAwait(false);
        _identity?.Dispose();
    }
}
