using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using MyChips.Data.Crypto;
using MyChips.Peer.Noise;
using MyChips.Peer.Transport;

namespace MyChips.Tests.Peer;

/// <summary>
/// A simulated reference node in Noise mode: our own handshake code with the specification's split, whose two transport
/// ciphers are then exchanged, as noise-protocol 3.0.2 does after IK and KK (PROTOCOL 4.3, ref bug T11). Independent of
/// the product's compatibility mode: the swap is done here on the finished transport. Listens on a loopback port from
/// the OS and can dial.
/// </summary>
internal sealed class ReferencePeer : IAsyncDisposable
{
    private readonly AgentKey _key;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<PeerConnection> _connections = new();
    private readonly ConcurrentQueue<JsonObject> _received = new();
    private readonly Task _accepting;

    public ReferencePeer()
    {
        _key = AgentKey.Generate();
        Identity = new PeerIdentity(_key, "127.0.0.1", null);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public PeerIdentity Identity { get; }

    public string AgentId => Identity.AgentId;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public PeerAddress Address => new(AgentId, "127.0.0.1", Port);

    /// <summary>Messages received, in order: the first one inside I or K, then every T that decrypted.</summary>
    public IReadOnlyCollection<JsonObject> Received => _received;

    public IReadOnlyCollection<PeerConnection> Connections => _connections;

    /// <summary>Dials <paramref name="node"/> (IK for a ticket, else N+KK) with <paramref name="first"/> inside I or K.</summary>
    public async Task<PeerConnection> DialAsync(PeerNode node, JsonObject first, bool ticket)
    {
        PeerEnvelope.StampFrom(first, Identity);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, node.Port));
        var pipe = new SocketDuplexPipe(socket);
        var result = await PeerHandshake.InitiateAsync(pipe, Identity, node.AgentId, new PeerKeyResolver().Resolve(node.AgentId), PeerTransportMode.Noise,
            JsonSerializer.SerializeToUtf8Bytes(first), ticket, _stop.Token);
        return Open(pipe, result, PeerConnectionDirection.Outbound);
    }

    /// <summary>Sends <paramref name="message"/> as one T on <paramref name="connection"/>, stamped from this node.</summary>
    public ValueTask SendAsync(PeerConnection connection, JsonObject message)
    {
        PeerEnvelope.StampFrom(message, Identity);
        return connection.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), _stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        Identity.Dispose();
        _key.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            _ = RespondAsync(new SocketDuplexPipe(socket));
        }
    }

    private async Task RespondAsync(SocketDuplexPipe pipe)
    {
        try
        {
            var result = await PeerHandshake.RespondAsync(pipe, Identity, new PeerKeyResolver(), new PeerTransportOptions(), new RecordingSink(), null, _stop.Token);
            _received.Enqueue(result.FirstMessage!);
            Open(pipe, result, PeerConnectionDirection.Inbound);
        }
        catch (Exception e) when (e is PeerProtocolException or OperationCanceledException or IOException)
        {
            await pipe.DisposeAsync();
        }
    }

    private PeerConnection Open(SocketDuplexPipe pipe, PeerHandshakeResult result, PeerConnectionDirection direction)
    {
        // T11: the library hands {tx: c1, rx: c2} to whoever wrote the last handshake message (A, the responder).
        var spec = result.Noise!;
        var swapped = new NoiseTransport(spec.Role, sender: spec.Receiver, receiver: spec.Sender, spec.HandshakeHash.ToArray());
        var connection = new PeerConnection(_connections.Count + 1, pipe, pipe, result with { Noise = swapped }, direction, pipe.RemoteEndPoint,
            new PeerTransportOptions(), NullLogger.Instance);
        _connections.Enqueue(connection);
        _ = connection.ReceiveAsync((_, message, _) =>
        {
            _received.Enqueue(message);
            return ValueTask.CompletedTask;
        });
        return connection;
    }
}
