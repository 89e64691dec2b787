using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using MyChips.Peer.Noise;

namespace MyChips.Peer.Transport;

/// <summary>
/// One open session with a peer agent (state <c>open</c>, PROTOCOL §7.5): <c>T</c> packets both ways. One writer at
/// a time (the Noise nonce is a counter); the receive loop is the only reader. Closes on the idle timeout, on any
/// non-<c>T</c> packet and on a transport message that does not authenticate.
/// </summary>
public sealed class PeerConnection : IAsyncDisposable
{
    private readonly IDuplexPipe _pipe;
    private readonly IAsyncDisposable? _owner;
    private readonly NoiseTransport? _noise;
    private readonly ILogger _logger;
    private readonly TimeSpan _idleTimeout;
    private readonly int _maxFrameBytes;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly TaskCompletionSource<PeerCloseReason> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _closeReason;

    internal PeerConnection(
        long id,
        IDuplexPipe pipe,
        IAsyncDisposable? owner,
        PeerHandshakeResult handshake,
        PeerConnectionDirection direction,
        EndPoint? remoteEndPoint,
        PeerTransportOptions options,
        ILogger logger)
    {
        _pipe = pipe;
        _owner = owner;
        _noise = handshake.Noise;
        _logger = logger;
        _idleTimeout = options.IdleTimeout;
        _maxFrameBytes = handshake.Noise is not null
            ? Math.Min(options.MaxFrameBytes, PeerTransportOptions.NoiseMaxFrameBytes)
            : options.MaxFrameBytes;
        PeerAgent = handshake.PeerAgent;
        Mode = handshake.Mode;
        Direction = direction;
        RemoteEndPoint = remoteEndPoint;
        Id = id;
        _lifetime.CancelAfter(_idleTimeout);
    }

    /// <summary>Process-unique, for logs.</summary>
    public long Id { get; }

    public string PeerAgent { get; }

    public PeerTransportMode Mode { get; }

    public PeerConnectionDirection Direction { get; }

    public EndPoint? RemoteEndPoint { get; }

    public bool IsOpen => Volatile.Read(ref _closeReason) == (int)PeerCloseReason.None;

    /// <summary>Completes with the reason once the connection has closed.</summary>
    public Task<PeerCloseReason> Closed => _closed.Task;

    /// <summary>Largest JSON message one <c>T</c> packet can carry in this connection's mode.</summary>
    public int MaxMessageBytes => _noise is not null ? NoiseTransport.MaxPayloadLength : _maxFrameBytes - 1;

    /// <summary>
    /// Writes each message as one <c>T</c> packet and flushes once. Throws <see cref="PeerConnectionClosedException"/>
    /// when the connection is (or becomes) closed; messages before the failing flush may or may not have left.
    /// </summary>
    public async ValueTask SendAsync(IReadOnlyList<ReadOnlyMemory<byte>> messages, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            foreach (var message in messages)
            {
                if (message.Length > MaxMessageBytes)
                {
                    throw new ArgumentException($"A message of {message.Length} bytes exceeds the {MaxMessageBytes}-byte limit of a {Mode} T packet.", nameof(messages));
                }
            }

            foreach (var message in messages)
            {
                WriteT(message.Span);
            }

            FlushResult result;
            try
            {
                result = await _pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                Close(PeerCloseReason.NetworkError);
                throw new PeerConnectionClosedException(PeerCloseReason.NetworkError, $"Writing to {PeerAgent} failed: {e.Message}", e);
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                Close(PeerCloseReason.PeerClosed);
                ThrowIfClosed();
            }

            Touch();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken) =>
        SendAsync([message], cancellationToken);

    /// <summary>
    /// Reads <c>T</c> packets until the connection closes and hands each checked message to <paramref name="deliver"/>,
    /// sequentially. Never throws: every ending is a close reason.
    /// </summary>
    internal async Task<PeerCloseReason> ReceiveAsync(Func<PeerConnection, System.Text.Json.Nodes.JsonObject, CancellationToken, ValueTask> deliver)
    {
        var token = _lifetime.Token;
        byte[] plain = ArrayPool<byte>.Shared.Rent(NoiseTransport.MaxMessageLength);
        try
        {
            while (true)
            {
                using var frame = await PeerFrameCodec.ReadAsync(_pipe.Input, _maxFrameBytes, token).ConfigureAwait(false);
                Touch();
                if (frame.Type != PeerPacketType.T)
                {
                    throw new PeerProtocolException(PeerCloseReason.UnexpectedPacket, $"An open connection accepts only T, not {frame.Type}.");
                }

                ReadOnlySpan<byte> body = frame.Body;
                if (_noise is not null)
                {
                    int length;
                    try
                    {
                        length = _noise.Decrypt(body, plain);
                    }
                    catch (CryptographicException e)
                    {
                        throw new PeerProtocolException(PeerCloseReason.DecryptFailed, $"A transport message did not authenticate: {e.Message}", e);
                    }

                    body = plain.AsSpan(0, length);
                }

                System.Text.Json.Nodes.JsonObject message;
                try
                {
                    message = PeerEnvelope.Parse(body);
                    string? from = PeerEnvelope.FromAgent(message);
                    if (!string.Equals(from, PeerAgent, StringComparison.Ordinal))
                    {
                        throw new PeerProtocolException(
                            from is null ? PeerCloseReason.MalformedMessage : PeerCloseReason.SpoofedSender,
                            from is null ? "The message has no from.agent." : $"from.agent {from} is not the connection's peer.");
                    }
                }
                catch (PeerProtocolException e)
                {
                    // A bad message from an authenticated peer is refused alone; the session stays usable.
                    _logger.LogWarning("Peer connection {Id} ({Peer}): message refused ({Reason}): {Detail}", Id, PeerAgent, e.Reason, e.Message);
                    continue;
                }
                catch (InvalidOperationException e)
                {
                    // from.agent holding a lone surrogate escape cannot be read as text: this message's fault, not the
                    // connection's (the handler below would take it for a network error and close).
                    _logger.LogWarning("Peer connection {Id} ({Peer}): message refused ({Reason}): {Detail}", Id, PeerAgent, PeerCloseReason.MalformedMessage, e.Message);
                    continue;
                }

                await deliver(this, message, token).ConfigureAwait(false);
            }
        }
        catch (PeerProtocolException e)
        {
            var reason = Close(e.Reason);
            if (reason is not PeerCloseReason.PeerClosed and not PeerCloseReason.LocalClose)
            {
                _logger.LogWarning("Peer connection {Id} ({Peer}) closed ({Reason}): {Detail}", Id, PeerAgent, e.Reason, e.Message);
            }

            return reason;
        }
        catch (Microsoft.AspNetCore.Connections.ConnectionAbortedException e)
        {
            var reason = Close(PeerCloseReason.PeerClosed);
            _logger.LogDebug("Peer connection {Id} ({Peer}) aborted: {Detail}", Id, PeerAgent, e.Message);
            return reason;
        }
        catch (OperationCanceledException)
        {
            // The lifetime token fires for both a local close and the idle timer; the first recorded reason wins.
            var reason = Close(PeerCloseReason.IdleTimeout);
            if (reason == PeerCloseReason.IdleTimeout)
            {
                _logger.LogInformation("Peer connection {Id} ({Peer}) closed ({Reason}) after {Idle}", Id, PeerAgent, reason, _idleTimeout);
            }

            return reason;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            var reason = Close(PeerCloseReason.NetworkError);
            _logger.LogInformation("Peer connection {Id} ({Peer}) closed ({Reason}): {Detail}", Id, PeerAgent, reason, e.Message);
            return reason;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plain, clearArray: _noise is not null);
        }
    }

    /// <summary>Marks the connection closed with <paramref name="reason"/> (first reason wins) and returns the recorded one.</summary>
    public PeerCloseReason Close(PeerCloseReason reason = PeerCloseReason.LocalClose)
    {
        if (Interlocked.CompareExchange(ref _closeReason, (int)reason, (int)PeerCloseReason.None) == (int)PeerCloseReason.None)
        {
            try
            {
                _lifetime.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }

            _pipe.Input.CancelPendingRead();
            _pipe.Output.CancelPendingFlush();
            _closed.TrySetResult(reason);
        }

        return (PeerCloseReason)Volatile.Read(ref _closeReason);
    }

    public async ValueTask DisposeAsync()
    {
        Close();
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _noise?.Dispose();
            if (_owner is not null)
            {
                await _owner.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }

        _lifetime.Dispose();
    }

    private void WriteT(ReadOnlySpan<byte> message)
    {
        if (_noise is null)
        {
            PeerFrameCodec.Write(_pipe.Output, PeerPacketType.T, message);
            return;
        }

        // Encrypt straight into the pipe's memory: no intermediate buffer.
        int length = NoiseTransport.GetCiphertextLength(message.Length);
        var body = PeerFrameCodec.Begin(_pipe.Output, PeerPacketType.T, length);
        _noise.Encrypt(message, body);
        _pipe.Output.Advance(PeerFrameCodec.FrameOverhead + length);
    }

    private void Touch()
    {
        try
        {
            _lifetime.CancelAfter(_idleTimeout);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void ThrowIfClosed()
    {
        var reason = (PeerCloseReason)Volatile.Read(ref _closeReason);
        if (reason != PeerCloseReason.None)
        {
            throw new PeerConnectionClosedException(reason, $"The connection to {PeerAgent} is closed ({reason}).");
        }
    }
}
