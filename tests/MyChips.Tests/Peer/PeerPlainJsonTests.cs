using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Peer.Transport;

namespace MyChips.Tests.Peer;

/// <summary>Peer messages are plain JSON text as the reference writes it: a cert.date keeps its literal <c>+</c>.</summary>
public sealed class PeerPlainJsonTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_cert_date_with_a_plus_goes_out_with_a_literal_plus()
    {
        // Raw mode, so the test can read the message off the socket as the peer receives it.
        await using var a = await PeerNode.StartAsync(settings: new() { ["Peer:Mode"] = "raw" });
        using var bKey = AgentKey.Generate();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            using var deadline = new CancellationTokenSource(Timeout);
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var message = new JsonObject
            {
                ["target"] = "tally", ["action"] = "test",
                ["to"] = new JsonObject { ["cuid"] = "u2", ["agent"] = bKey.Id },
                ["from"] = new JsonObject { ["cuid"] = "u1" },
                ["cert"] = new JsonObject { ["date"] = "2025-03-01T09:15:02.41+00:00", ["name"] = "Zoë <Ø&Co>" },
            };
            var sent = a.Manager.SendAsync(new PeerAddress(bKey.Id, "127.0.0.1", port), message, deadline.Token);
            using var socket = await listener.AcceptSocketAsync(deadline.Token);
            var (nType, _) = await ReadFrameAsync(socket, deadline.Token);
            var (kType, kBody) = await ReadFrameAsync(socket, deadline.Token);
            Assert.Equal((byte)'N', nType);
            Assert.Equal((byte)'K', kType);
            var text = Encoding.UTF8.GetString(kBody);
            Assert.Contains("\"date\":\"2025-03-01T09:15:02.41+00:00\"", text, StringComparison.Ordinal);
            Assert.Contains("Zoë <Ø&Co>", text, StringComparison.Ordinal);
            Assert.DoesNotContain("\\u", text, StringComparison.Ordinal);
            await socket.SendAsync(RawPeerClient.Frame((byte)'A', default), SocketFlags.None, deadline.Token);
            await sent.WaitAsync(deadline.Token);
        }
        finally
        {
            listener.Stop();
        }
    }

    private static async Task<(byte Type, byte[] Body)> ReadFrameAsync(Socket socket, CancellationToken cancellationToken)
    {
        var header = await ReadExactlyAsync(socket, 4, cancellationToken);
        var frame = await ReadExactlyAsync(socket, (int)BinaryPrimitives.ReadUInt32BigEndian(header), cancellationToken);
        return (frame[0], frame[1..]);
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int length, CancellationToken cancellationToken)
    {
        var buffer = new byte[length];
        for (var read = 0; read < length;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken);
            Assert.True(n > 0, "the connection stays open until the frame is read");
            read += n;
        }

        return buffer;
    }
}
