using System.Text.Json.Nodes;
using MyChips.Peer.Transport;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Peer;

/// <summary>
/// Per-peer compatibility mode <c>NoiseReference</c> (PROTOCOL 4.3, ref bug T11) on loopback TCP, against a simulated
/// reference node whose transport keys are swapped after IK and KK. Both directions, both connection flows.
/// </summary>
public sealed class NoiseReferenceModeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CompatNode_DialsReferenceNode_HandshakeThenTMessagesBothWays(bool ticket)
    {
        await using var reference = new ReferencePeer();
        await using var node = await PeerNode.StartAsync(settings: Compat(reference));

        // First message inside I (ticket) or K, the second as our first T.
        await node.Manager.SendAsync(reference.Address, ticket ? Ticket(reference, 0) : Message(reference, 0)).WaitAsync(Timeout);
        await node.Manager.SendAsync(reference.Address, Message(reference, 1)).WaitAsync(Timeout);
        await Wait.UntilAsync(() => reference.Received.Count >= 2, Timeout, "the reference node has both messages");
        Assert.Equal([0, 1], reference.Received.Select(m => (int)m["seq"]!));

        // The reference answers with T on the same connection; we decrypt it.
        var connection = Assert.Single(reference.Connections);
        await reference.SendAsync(connection, Message(node, 2));
        await Wait.UntilAsync(() => node.Sink.Deliveries.Count >= 1, Timeout, "our node has the reference's T");
        var delivery = Assert.Single(node.Sink.Deliveries);
        Assert.Equal(2, (int)delivery.Message["seq"]!);
        Assert.Equal(PeerTransportMode.NoiseReference, delivery.Mode);
        Assert.Equal(1, node.Logs.Count("uses compatibility mode NoiseReference"));
        Assert.False(node.Logs.Contains("DecryptFailed"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReferenceNode_DialsCompatNode_HandshakeThenTMessagesBothWays(bool ticket)
    {
        await using var reference = new ReferencePeer();
        await using var node = await PeerNode.StartAsync(settings: Compat(reference));

        var connection = await reference.DialAsync(node, ticket ? Ticket(node, 0) : Message(node, 0), ticket).WaitAsync(Timeout);
        await reference.SendAsync(connection, Message(node, 1));
        await Wait.UntilAsync(() => node.Sink.Deliveries.Count >= 2, Timeout, "our node has the I/K message and the T");
        Assert.Equal([0, 1], node.Sink.Sequence());
        Assert.All(node.Sink.Deliveries, d => Assert.Equal(PeerTransportMode.NoiseReference, d.Mode));

        // Our answer goes back as T on the inbound connection (we are the responder: send with c1).
        await node.Manager.SendAsync(reference.Address, Message(reference, 2)).WaitAsync(Timeout);
        await Wait.UntilAsync(() => reference.Received.Count >= 1, Timeout, "the reference node has our T");
        Assert.Equal([2], reference.Received.Select(m => (int)m["seq"]!));
        Assert.Equal(PeerConnectionDirection.Inbound, Assert.Single(node.Manager.ConnectionsTo(reference.AgentId)).Direction);
        Assert.Equal(1, node.Logs.Count("uses compatibility mode NoiseReference"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WithoutCompatMode_ReferenceNodeDialsUs_HandshakeCompletesThenTClosedAsDecryptFailed(bool ticket)
    {
        await using var reference = new ReferencePeer();
        await using var node = await PeerNode.StartAsync();

        // The handshake itself agrees (T11 only concerns the split), so the message inside I/K arrives...
        var connection = await reference.DialAsync(node, ticket ? Ticket(node, 0) : Message(node, 0), ticket).WaitAsync(Timeout);
        await Wait.UntilAsync(() => node.Sink.Deliveries.Count >= 1, Timeout, "our node has the I/K message");

        // ...and the first T does not authenticate: the connection is closed and the reason logged.
        await reference.SendAsync(connection, Message(node, 1));
        await Wait.UntilAsync(() => node.Logs.Contains("closed (DecryptFailed)"), Timeout, "our node logs DecryptFailed");
        await Wait.UntilAsync(() => node.Manager.ConnectionsTo(reference.AgentId).Count == 0, Timeout, "our node closed the connection");
        Assert.Equal([0], node.Sink.Sequence());
        Assert.Equal(PeerTransportMode.Noise, Assert.Single(node.Sink.Deliveries).Mode);
        Assert.False(node.Logs.Contains("compatibility mode"));
    }

    [Fact]
    public async Task WithoutCompatMode_WeDialReferenceNode_HandshakeCompletesThenTheirTClosedAsDecryptFailed()
    {
        await using var reference = new ReferencePeer();
        await using var node = await PeerNode.StartAsync();

        await node.Manager.SendAsync(reference.Address, Message(reference, 0)).WaitAsync(Timeout);
        await Wait.UntilAsync(() => reference.Received.Count >= 1 && reference.Connections.Count == 1, Timeout, "the reference has the K message");
        var connection = Assert.Single(reference.Connections);

        // The handshake agreed (the message inside K arrived); the reference's first T does not authenticate here.
        await reference.SendAsync(connection, Message(node, 2));
        await Wait.UntilAsync(() => node.Logs.Contains("closed (DecryptFailed)"), Timeout, "our node logs DecryptFailed");
        Assert.Empty(node.Sink.Deliveries);
        Assert.Equal([0], reference.Received.Select(m => (int)m["seq"]!));
    }

    [Fact]
    public void NoiseReference_AsGlobalMode_IsRefused_NamingTheKey()
    {
        var options = new PeerTransportOptions { Mode = PeerTransportMode.NoiseReference };
        var error = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Contains("Peer:Mode", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PeerModes_KeyThatIsNotAnAgentId_IsRefused_NamingTheKey()
    {
        var options = new PeerTransportOptions();
        options.PeerModes["not-an-agent"] = PeerTransportMode.NoiseReference;
        var error = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Contains("Peer:PeerModes:not-an-agent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PeerModes_UnknownModeName_FailsAtStart_NamingTheKey()
    {
        using var key = MyChips.Data.Crypto.AgentKey.Generate();
        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            PeerNode.StartAsync(settings: new() { [$"Peer:PeerModes:{key.Id}"] = "NoiseRef" }));
        Assert.Contains($"Peer:PeerModes:{key.Id}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Site_start_with_a_bad_peer_mode_setting_is_a_configuration_error_naming_the_key()
    {
        using var key = MyChips.Data.Crypto.AgentKey.Generate();
        var cases = new (string Key, string Value, bool Enabled)[]
        {
            ("Peer:Mode", "NoiseReference", true),
            ("Peer:PeerModes:not-an-agent", "NoiseReference", true),
            ($"Peer:PeerModes:{key.Id}", "NoiseRef", true),
            // Without a listener the domain still needs the reference peers (P-521 rule), so they are checked too.
            ($"Peer:PeerModes:{key.Id}", "NoiseRef", false),
        };
        foreach (var (name, value, enabled) in cases)
        {
            var flags = new Dictionary<string, string?> { [name] = value, ["Peer:Enabled"] = enabled ? "true" : "false" };
            var error = Assert.Throws<MyChips.Server.Hosting.ConfigurationException>(() => MyChips.Server.Hosting.SiteHost.CreateBuilder(flags, "Host=127.0.0.1"));
            Assert.Contains(name, error.Message, StringComparison.Ordinal);
        }
    }

    private static Dictionary<string, string?> Compat(ReferencePeer reference) =>
        new() { [$"Peer:PeerModes:{reference.AgentId}"] = nameof(PeerTransportMode.NoiseReference) };

    private static JsonObject Message(string agent, int port, int seq) => new()
    {
        ["target"] = "chit",
        ["action"] = "test",
        ["to"] = new JsonObject { ["cuid"] = "u2", ["agent"] = agent, ["host"] = "127.0.0.1", ["port"] = port },
        ["from"] = new JsonObject { ["cuid"] = "u1" },
        ["seq"] = seq,
    };

    private static JsonObject Message(ReferencePeer to, int seq) => Message(to.AgentId, to.Port, seq);

    private static JsonObject Message(PeerNode to, int seq) => Message(to.AgentId, to.Port, seq);

    private static JsonObject Ticket(ReferencePeer to, int seq) => AsTicket(Message(to, seq));

    private static JsonObject Ticket(PeerNode to, int seq) => AsTicket(Message(to, seq));

    private static JsonObject AsTicket(JsonObject message)
    {
        message["target"] = "tally";
        message["action"] = "ticket";
        message["ticket"] = new JsonObject { ["token"] = "t0k3n", ["expires"] = "2099-01-01T00:00:00Z" };
        return message;
    }
}
