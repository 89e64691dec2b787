using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MyChips.Data.Crypto;
using MyChips.Peer.Transport;

namespace MyChips.Tests.Peer;

/// <summary>
/// One site's peer transport in a minimal Kestrel host on loopback, wired exactly as a site would be:
/// <see cref="PeerTransportExtensions.AddPeerTransport"/> plus <see cref="PeerTransportExtensions.ListenPeer"/>.
/// </summary>
public sealed class PeerNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly PeerIdentity _identity;
    private readonly ListenOptions _listen;

    private PeerNode(WebApplication app, PeerIdentity identity, ListenOptions listen, RecordingSink sink, CapturingLoggerProvider logs)
    {
        _app = app;
        _identity = identity;
        _listen = listen;
        Sink = sink;
        Logs = logs;
    }

    public RecordingSink Sink { get; }

    public CapturingLoggerProvider Logs { get; }

    public PeerConnectionManager Manager => _app.Services.GetRequiredService<PeerConnectionManager>();

    public string AgentId => _identity.AgentId;

    public int Port => ((IPEndPoint)_listen.EndPoint).Port;

    public PeerAddress Address => new(AgentId, "127.0.0.1", Port);

    /// <summary>Starts a node. <paramref name="seed"/> fixes the agent key (for a restart), <paramref name="port"/> 0 picks one.</summary>
    public static async Task<PeerNode> StartAsync(byte[]? seed = null, int port = 0, Dictionary<string, string?>? settings = null, RecordingSink? sink = null)
    {
        var config = new Dictionary<string, string?>
        {
            ["Peer:Endpoint"] = $"127.0.0.1:{port}",
            ["Peer:AllowedNetworks:0"] = "127.0.0.0/8", // the other node is on loopback
            ["Peer:IdleTimeout"] = "00:00:30",
            ["Peer:ConnectTimeout"] = "00:00:05",
            ["Peer:BackoffMin"] = "00:00:00.050",
            ["Peer:BackoffMax"] = "00:00:00.400",
        };
        foreach (var (name, value) in settings ?? [])
        {
            config[name] = value;
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(config);
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);

        using var key = seed is null ? AgentKey.Generate() : AgentKey.FromSeed(seed);
        var identity = new PeerIdentity(key, "127.0.0.1", port == 0 ? null : port);
        sink ??= new RecordingSink();
        var options = builder.Configuration.GetPeerTransportOptions();
        ListenOptions? listen = null;
        builder.WebHost.ConfigureKestrel(k => listen = k.ListenPeer(options));
        builder.Services.AddSingleton(identity);
        builder.Services.AddSingleton<IPeerMessageSink>(sink);
        builder.Services.AddPeerTransport(builder.Configuration);

        var app = builder.Build();
        await app.StartAsync();
        return new PeerNode(app, identity, listen!, sink, logs);
    }

    /// <summary>A protocol-shaped test message for <paramref name="to"/> carrying <c>seq</c>.</summary>
    public static JsonObject Message(PeerNode to, int seq, string target = "chit") => new()
    {
        ["target"] = target,
        ["action"] = "test",
        ["to"] = new JsonObject { ["cuid"] = "u2", ["agent"] = to.AgentId, ["host"] = "127.0.0.1", ["port"] = to.Port },
        ["from"] = new JsonObject { ["cuid"] = "u1" },
        ["seq"] = seq,
    };

    public static JsonObject Ticket(PeerNode to, int seq)
    {
        var message = Message(to, seq, "tally");
        message["action"] = "ticket";
        message["ticket"] = new JsonObject { ["token"] = "t0k3n", ["expires"] = "2099-01-01T00:00:00Z" };
        return message;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _identity.Dispose();
    }
}
