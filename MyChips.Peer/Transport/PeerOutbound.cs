namespace MyChips.Peer.Transport;

/// <summary>
/// One queued outgoing message: its UTF-8 JSON and the task its sender awaits, which completes when the bytes have been
/// flushed to a socket (PROTOCOL §4.6: "sent" means the local write completed).
/// </summary>
internal sealed class PeerOutbound
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _registration;

    public PeerOutbound(byte[] utf8, bool isTicket)
    {
        Utf8 = utf8;
        IsTicket = isTicket;
    }

    public byte[] Utf8 { get; }

    public bool IsTicket { get; }

    public Task Task => _completion.Task;

    /// <summary>Cancelled by its sender before it left; the pump skips it. A message already being written may still go out.</summary>
    public bool IsAbandoned => _completion.Task.IsCompleted;

    public void Watch(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.Register(static state => ((PeerOutbound)state!)._completion.TrySetCanceled(), this);
        }
    }

    public void Complete()
    {
        _registration.Dispose();
        _completion.TrySetResult();
    }

    public void Fail(Exception exception)
    {
        _registration.Dispose();
        _completion.TrySetException(exception);
    }
}
