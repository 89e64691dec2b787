using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MyChips.Data.Crypto;
using MyChips.Peer.Transport;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Peer;

/// <summary>
/// A message with a member name given twice (two <c>from</c> members) is refused alone with a logged reason: inside an
/// open connection the connection's other messages are still served; as the first message of a handshake the
/// handshake is refused with nothing written back.
/// </summary>
public sealed class PeerDuplicateMemberTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly Dictionary<string, string?> Raw = new() { ["Peer:Mode"] = "raw" };

    [Fact]
    public async Task A_message_with_two_from_members_is_refused_and_logged_and_the_connection_serves_the_next()
    {
        await using var b = await PeerNode.StartAsync(settings: Raw);
        using var aKey = AgentKey.Generate();

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, b.Port), deadline.Token);
        await socket.SendAsync(RawPeerClient.Frame((byte)'N', JsonSerializer.SerializeToUtf8Bytes(aKey.Id)), SocketFlags.None, deadline.Token);
        await socket.SendAsync(RawPeerClient.Frame((byte)'K', Message(b, aKey.Id, 0, duplicateFrom: false)), SocketFlags.None, deadline.Token);
        var ack = new byte[5];
        for (var read = 0; read < ack.Length;)
        {
            var n = await socket.ReceiveAsync(ack.AsMemory(read), SocketFlags.None, deadline.Token);
            Assert.True(n > 0, "the listener answers the raw handshake with A");
            read += n;
        }

        Assert.Equal((byte)'A', ack[4]);
        await socket.SendAsync(RawPeerClient.Frame((byte)'T', Message(b, aKey.Id, 1, duplicateFrom: true)), SocketFlags.None, deadline.Token);
        await socket.SendAsync(RawPeerClient.Frame((byte)'T', Message(b, aKey.Id, 2, duplicateFrom: false)), SocketFlags.None, deadline.Token);

        // A from.agent that cannot be read as text at all (a lone surrogate escape) is refused alone too.
        await socket.SendAsync(RawPeerClient.Frame((byte)'T', Message(b, "\\ud800", 3, duplicateFrom: false)), SocketFlags.None, deadline.Token);
        await socket.SendAsync(RawPeerClient.Frame((byte)'T', Message(b, aKey.Id, 4, duplicateFrom: false)), SocketFlags.None, deadline.Token);

        await Wait.UntilAsync(() => b.Sink.Deliveries.Count == 3, Timeout, "B has messages 0, 2 and 4");
        Assert.Equal([0, 2, 4], b.Sink.Sequence());
        Assert.Equal(2, b.Logs.Count("message refused (MalformedMessage)"));
        Assert.True(b.Logs.Contains("Duplicate property 'from'"), "the duplicate is refused with its reason");
        Assert.Single(b.Manager.ConnectionsTo(aKey.Id));
    }

    [Fact]
    public async Task A_first_message_with_two_from_members_is_refused_before_the_handshake_answers()
    {
        await using var b = await PeerNode.StartAsync(settings: Raw);
        using var aKey = AgentKey.Generate();

        var n = RawPeerClient.Frame((byte)'N', JsonSerializer.SerializeToUtf8Bytes(aKey.Id));
        var k = RawPeerClient.Frame((byte)'K', Message(b, aKey.Id, 0, duplicateFrom: true));
        Assert.Equal(0, await RawPeerClient.SendAndCountRepliesAsync(b.Port, [.. n, .. k], Timeout));
        var i = RawPeerClient.Frame((byte)'I', Message(b, aKey.Id, 1, duplicateFrom: true, ticket: true));
        Assert.Equal(0, await RawPeerClient.SendAndCountRepliesAsync(b.Port, i, Timeout));

        await Wait.UntilAsync(() => b.Logs.Count("refused (MalformedMessage)") >= 2, Timeout, "both handshakes are refused as malformed");
        Assert.Empty(b.Sink.Deliveries);
        Assert.Empty(b.Sink.Tickets);

        // Still serving.
        await using var good = await PeerNode.StartAsync(settings: Raw);
        await good.Manager.SendAsync(PeerNode.Message(b, 42)).WaitAsync(Timeout);
        await Wait.UntilAsync(() => b.Sink.Deliveries.Count == 1, Timeout, "the good peer's message arrives");
    }

    // Written by hand: no JSON writer of ours produces a member twice.
    private static byte[] Message(PeerNode to, string fromAgent, int seq, bool duplicateFrom, bool ticket = false)
    {
        var from = $"\"from\":{{\"cuid\":\"u1\",\"agent\":\"{fromAgent}\"}}";
        var target = ticket ? "\"target\":\"tally\",\"action\":\"ticket\",\"ticket\":{\"token\":\"t0k3n\"}" : "\"target\":\"chit\",\"action\":\"test\"";
        return Encoding.UTF8.GetBytes(
            $"{{{target},\"to\":{{\"cuid\":\"u2\",\"agent\":\"{to.AgentId}\"}},{from},{(duplicateFrom ? from + "," : "")}\"seq\":{seq}}}");
    }
}
