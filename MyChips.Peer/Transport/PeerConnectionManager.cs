using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MyChips.Peer.Transport;

/// <summary>
/// The peer transport of one site (PROTOCOL §4): one connection set per peer agent, used in both directions
/// whichever side dialled; outbound messages queue per peer until a connection is open (never dropped, ref bug T5),
/// dial with IK for a ticket and N+KK otherwise, and redial with exponential backoff. Inbound connections come from
/// <see cref="HandleInboundAsync"/> (the Kestrel <see cref="PeerListenerHandler"/>).
/// </summary>
public sealed class PeerConnectionManager : IAsyncDisposable
{
    private const int BatchSize = 256;

    private readonly PeerIdentity _identity;
    private readonly IPeerMessageSink _sink;
    private readonly PeerKeyResolver _keys;
    private readonly PeerTransportOptions _options;
    private readonly PeerAddressPolicy _addresses;
    private readonly ILogger<PeerConnectionManager> _logger;
    private readonly ConcurrentDictionary<string, PeerLink> _links = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly object _tasksGate = new();
    private readonly HashSet<Task> _tasks = [];
    private long _nextConnectionId;
    private int _stopping;

    public PeerConnectionManager(
        PeerIdentity identity,
        IPeerMessageSink sink,
        PeerKeyResolver keys,
        IOptions<PeerTransportOptions> options,
        ILogger<PeerConnectionManager> logger)
    {
        _identity = identity;
        _sink = sink;
        _keys = keys;
        _options = options.Value;
        _options.Validate();
        _addresses = PeerAddressPolicy.From(_options);
        _logger = logger;
    }

    public string LocalAgent => _identity.AgentId;

    public PeerTransportOptions Options => _options;

    /// <summary>
    /// Sends one protocol message to the agent in its <c>to</c> CHAD (PROTOCOL §5.1). See
    /// <see cref="SendAsync(PeerAddress, JsonObject, CancellationToken)"/>.
    /// </summary>
    public Task SendAsync(JsonObject message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var to = PeerAddress.FromChad(message["to"])
            ?? throw new PeerSendException(PeerSendFailure.NoAddress, "The message has no to.agent.");
        return SendAsync(to, message, cancellationToken);
    }

    /// <summary>
    /// Queues <paramref name="message"/> for <paramref name="to"/>.Agent and returns a task that completes once it has
    /// been written to a socket (or handed to our own sink, for our own agent: PROTOCOL §4.4 loopback). Stamps
    /// <c>from.agent/host/port</c> with ours first (§4.4), which modifies <paramref name="message"/>. A tally ticket
    /// opens a new connection with IK, anything else with N+KK. Cancelling only withdraws a message not yet written.
    /// Throws <see cref="PeerSendException"/> at once for an invalid agent ID, an oversize message or a full queue.
    /// </summary>
    public Task SendAsync(PeerAddress to, JsonObject message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(message);
        if (_shutdown.IsCancellationRequested)
        {
            throw new PeerSendException(PeerSendFailure.Shutdown, "The peer transport is shutting down.");
        }

        PeerEnvelope.StampFrom(message, _identity);
        if (string.Equals(to.Agent, _identity.AgentId, StringComparison.Ordinal))
        {
            return DeliverLocallyAsync(message, cancellationToken);
        }

        byte[] key = _keys.TryResolve(to.Agent)
            ?? throw new PeerSendException(PeerSendFailure.InvalidAgentId, $"'{to.Agent}' is not a valid agent ID (PROTOCOL §2.3 point checks).");
        byte[] utf8 = PeerEnvelope.Serialize(message);
        if (utf8.Length > PeerHandshake.MaxFirstMessageBytes)
        {
            throw new PeerSendException(PeerSendFailure.MessageTooLarge, $"A {utf8.Length}-byte message exceeds the {PeerHandshake.MaxFirstMessageBytes}-byte limit of one packet.");
        }

        var link = _links.GetOrAdd(to.Agent, static (agent, k) => new PeerLink(agent, k), key);
        link.UpdateAddress(to);
        if (link.Current is null && link.Address is null)
        {
            throw new PeerSendException(PeerSendFailure.NoAddress, $"No connection to {to.Agent} and no host/port to dial.");
        }

        var outbound = new PeerOutbound(utf8, PeerEnvelope.IsTicket(message));
        outbound.Watch(cancellationToken);
        if (link.Enqueue(outbound, _options.MaxQueuedMessages))
        {
            Track(PumpAsync(link));
        }

        return outbound.Task;
    }

    /// <summary>The open connections to <paramref name="agent"/>, oldest first (diagnostics and tests).</summary>
    public IReadOnlyList<PeerConnection> ConnectionsTo(string agent) =>
        _links.TryGetValue(agent, out var link) ? link.Connections.Where(c => c.IsOpen).ToArray() : [];

    /// <summary>
    /// Runs the responder side of one accepted connection until it closes: handshake, first message, then the
    /// receive loop. Never throws for anything the peer sent: every refusal is logged with its reason and the
    /// connection is dropped with nothing written.
    /// </summary>
    public async Task HandleInboundAsync(IDuplexPipe transport, EndPoint? remoteEndPoint, CancellationToken connectionClosed)
    {
        ArgumentNullException.ThrowIfNull(transport);
        PeerHandshakeResult handshake;
        // Not linked to connectionClosed: a peer that sends its frames and half-closes must still have them read and
        // judged (and a refusal logged); a vanished peer ends the reads by itself.
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token))
        {
            timeout.CancelAfter(_options.ConnectTimeout);
            try
            {
                handshake = await PeerHandshake.RespondAsync(transport, _identity, _keys, _options, _sink, remoteEndPoint, timeout.Token).ConfigureAwait(false);
            }
            catch (PeerProtocolException e)
            {
                if (e.Reason != PeerCloseReason.PeerClosed)
                {
                    _logger.LogWarning("Peer connection from {Remote} refused ({Reason}): {Detail}", remoteEndPoint, e.Reason, e.Message);
                }

                return;
            }
            catch (OperationCanceledException) when (!_shutdown.IsCancellationRequested)
            {
                _logger.LogWarning("Peer connection from {Remote} refused ({Reason}): no complete handshake within {Timeout}", remoteEndPoint, PeerCloseReason.HandshakeTimeout, _options.ConnectTimeout);
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                _logger.LogInformation("Peer connection from {Remote} failed during the handshake ({Reason}): {Detail}", remoteEndPoint, PeerCloseReason.NetworkError, e.Message);
                return;
            }
        }

        var connection = new PeerConnection(NextId(), transport, owner: null, handshake, PeerConnectionDirection.Inbound, remoteEndPoint, _options, _logger);
        var link = _links.GetOrAdd(handshake.PeerAgent, static (agent, k) => new PeerLink(agent, k), _keys.Resolve(handshake.PeerAgent));
        _logger.LogInformation("Peer connection {Id} from {Peer} at {Remote} open ({Mode}{Ticket})",
            connection.Id, handshake.PeerAgent, remoteEndPoint, handshake.Mode, handshake.FirstContact ? ", ticket" : "");
        WarnIfCompatibility(connection);
        if (link.Add(connection))
        {
            Track(PumpAsync(link));
        }

        using var closed = connectionClosed.Register(static c => ((PeerConnection)c!).Close(PeerCloseReason.PeerClosed), connection);
        if (handshake.FirstMessage is not null)
        {
            await DeliverAsync(connection, handshake.FirstMessage, _shutdown.Token).ConfigureAwait(false);
        }

        await RunAsync(link, connection).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the transport: closes every connection (so Kestrel's shutdown does not wait for idle peers), fails queued
    /// messages with <see cref="PeerSendFailure.Shutdown"/> and refuses new ones. Called when the application stops.
    /// </summary>
    public async Task ShutdownAsync()
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            return;
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        foreach (var link in _links.Values)
        {
            foreach (var connection in link.Connections)
            {
                connection.Close();
            }

            FailAll(link.Drain(), new PeerSendException(PeerSendFailure.Shutdown, "The peer transport shut down before the message was sent."));
        }

        Task[] pending;
        lock (_tasksGate)
        {
            pending = [.. _tasks];
        }

        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        _shutdown.Dispose();
    }

    private async Task DeliverLocallyAsync(JsonObject message, CancellationToken cancellationToken)
    {
        var verdict = await _sink.DeliverAsync(new PeerInboundMessage(_identity.AgentId, message, PeerTransportMode.Noise, null), cancellationToken).ConfigureAwait(false);
        _logger.LogDebug("Local delivery: {Verdict}", verdict);
    }

    private async Task PumpAsync(PeerLink link)
    {
        // Off the caller's stack: SendAsync returns as soon as the message is queued.
        await Task.Yield();
        var batch = new List<PeerOutbound>(BatchSize);
        var payloads = new List<ReadOnlyMemory<byte>>(BatchSize);
        int failures = 0;
        bool delay = false;
        var token = _shutdown.Token;
        try
        {
            while (true)
            {
                if (delay)
                {
                    await Task.Delay(Backoff(failures), token).ConfigureAwait(false);
                    delay = false;
                }

                batch.Clear();
                if (!link.TryTake(batch, BatchSize))
                {
                    return;
                }

                var connection = link.Current;
                if (connection is null)
                {
                    if (link.Address is null)
                    {
                        var error = new PeerSendException(PeerSendFailure.NoAddress, $"The connection to {link.Agent} closed and there is no host/port to dial.");
                        FailAll(batch, error);
                        FailAll(link.Drain(), error);
                        return;
                    }

                    try
                    {
                        connection = await DialAsync(link, batch[0], token).ConfigureAwait(false);
                    }
                    catch (PeerSendException e) when (e.Failure == PeerSendFailure.AddressNotAllowed)
                    {
                        // Not dialled, and retrying cannot help: every waiting message fails now, with the reason.
                        _logger.LogWarning("Not dialling {Peer} at {Host}:{Port}: {Detail}", link.Agent, link.Address?.Host, link.Address?.Port, e.Message);
                        FailAll(batch, e);
                        FailAll(link.Drain(), e);
                        return;
                    }
                    catch (Exception e) when (!token.IsCancellationRequested)
                    {
                        link.ReturnToFront(batch);
                        failures++;
                        delay = true;
                        var reason = e is PeerProtocolException p ? p.Reason : e is OperationCanceledException ? PeerCloseReason.HandshakeTimeout : PeerCloseReason.NetworkError;
                        _logger.LogWarning("Dial {Peer} at {Host}:{Port} failed ({Reason}), attempt {Attempt}; retrying in about {Delay}: {Detail}",
                            link.Agent, link.Address?.Host, link.Address?.Port, reason, failures, Backoff(failures), e.Message);
                        continue;
                    }

                    // The first message travelled inside I or K.
                    batch[0].Complete();
                    batch.RemoveAt(0);
                    if (batch.Count == 0)
                    {
                        failures = 0;
                        continue;
                    }
                }

                payloads.Clear();
                foreach (var message in batch)
                {
                    payloads.Add(message.Utf8);
                }

                try
                {
                    await connection.SendAsync(payloads, token).ConfigureAwait(false);
                }
                catch (PeerConnectionClosedException e)
                {
                    // PROTOCOL §4.6: a message that fails on a closed socket triggers one redial, at once; a second
                    // failure in a row waits for the backoff.
                    link.ReturnToFront(batch);
                    link.Remove(connection);
                    failures++;
                    delay = failures > 1;
                    _logger.LogInformation("Send to {Peer} on connection {Id} failed ({Reason}); redialling", link.Agent, connection.Id, e.Reason);
                    continue;
                }

                foreach (var message in batch)
                {
                    message.Complete();
                }

                failures = 0;
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            var error = new PeerSendException(PeerSendFailure.Shutdown, "The peer transport shut down before the message was sent.");
            FailAll(batch, error);
            FailAll(link.Drain(), error);
        }
    }

    private async Task<PeerConnection> DialAsync(PeerLink link, PeerOutbound first, CancellationToken cancellationToken)
    {
        var address = link.Address!;
        var mode = _options.ModeFor(link.Agent);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ConnectTimeout);
        var pipe = await PeerDialer.ConnectAsync(address.Host!, address.Port!.Value, _addresses, timeout.Token).ConfigureAwait(false);
        try
        {
            var handshake = await PeerHandshake.InitiateAsync(pipe, _identity, link.Agent, link.Key, mode, first.Utf8, first.IsTicket, timeout.Token).ConfigureAwait(false);
            var connection = new PeerConnection(NextId(), pipe, pipe, handshake, PeerConnectionDirection.Outbound, pipe.RemoteEndPoint, _options, _logger);
            _logger.LogInformation("Peer connection {Id} to {Peer} at {Host}:{Port} open ({Mode}{Ticket})",
                connection.Id, link.Agent, address.Host, address.Port, mode, first.IsTicket ? ", ticket" : "");
            WarnIfCompatibility(connection);
            link.Add(connection);
            Track(RunAsync(link, connection));
            return connection;
        }
        catch
        {
            await pipe.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task RunAsync(PeerLink link, PeerConnection connection)
    {
        await Task.Yield();
        try
        {
            var reason = await connection.ReceiveAsync(DeliverAsync).ConfigureAwait(false);
            _logger.LogDebug("Peer connection {Id} ({Peer}) ended: {Reason}", connection.Id, connection.PeerAgent, reason);
        }
        finally
        {
            link.Remove(connection);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask DeliverAsync(PeerConnection connection, JsonObject message, CancellationToken cancellationToken)
    {
        try
        {
            var verdict = await _sink.DeliverAsync(new PeerInboundMessage(connection.PeerAgent, message, connection.Mode, connection.RemoteEndPoint), cancellationToken).ConfigureAwait(false);
            if (verdict != PeerDelivery.Accepted)
            {
                _logger.LogDebug("Message from {Peer} on connection {Id}: {Verdict}", connection.PeerAgent, connection.Id, verdict);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            // The domain's failure on one message must not take the session down.
            _logger.LogError(e, "The message sink failed on a message from {Peer} (connection {Id})", connection.PeerAgent, connection.Id);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        double min = _options.BackoffMin.TotalMilliseconds;
        double ms = Math.Min(_options.BackoffMax.TotalMilliseconds, min * Math.Pow(2, Math.Min(failures - 1, 30)));

        // ±20% jitter so that peers that failed together do not redial in lockstep.
        ms *= 0.8 + (0.4 * Random.Shared.NextDouble());
        return TimeSpan.FromMilliseconds(Math.Max(ms, 1));
    }

    private void WarnIfCompatibility(PeerConnection connection)
    {
        if (connection.Mode == PeerTransportMode.NoiseReference)
        {
            _logger.LogWarning(
                "Peer connection {Id} ({Peer}) uses compatibility mode {Mode}: the reference's swapped Noise transport keys, not the specification (PROTOCOL 4.3, ref bug T11)",
                connection.Id, connection.PeerAgent, connection.Mode);
        }
    }

    private long NextId() => Interlocked.Increment(ref _nextConnectionId);

    private void Track(Task task)
    {
        lock (_tasksGate)
        {
            _tasks.Add(task);
        }

        task.ContinueWith(
            (t, state) =>
            {
                var self = (PeerConnectionManager)state!;
                lock (self._tasksGate)
                {
                    self._tasks.Remove(t);
                }

                if (t.Exception is { } e)
                {
                    self._logger.LogError(e, "A peer transport task failed");
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private static void FailAll(List<PeerOutbound> messages, Exception error)
    {
        foreach (var message in messages)
        {
            message.Fail(error);
        }
    }
}
