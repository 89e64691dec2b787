namespace MyChips.Data.Domain;

/// <summary>
/// Where peers reach this site's agent once the server knows it (the peer listener's bound endpoint, or the configured
/// public host/port). When registered, <see cref="SiteAgents"/> waits for it and records it on the local agent, so
/// every CHAD we publish points at the listener actually open; without it (CLI verbs) the stored address is kept.
/// </summary>
public sealed class AgentAddress
{
    private readonly TaskCompletionSource<(string Host, int Port)> _known = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set(string host, int port) => _known.TrySetResult((host, port));

    public Task<(string Host, int Port)> WaitAsync(CancellationToken cancellationToken) => _known.Task.WaitAsync(cancellationToken);
}
