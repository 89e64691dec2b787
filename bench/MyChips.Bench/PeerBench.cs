using System.CommandLine;
using System.Diagnostics;
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

namespace MyChips.Bench;

/// <summary>
/// Scenario <c>peer</c>: messages per second from one site to another over real loopback TCP, through the whole peer
/// transport (Kestrel listener, N+KK handshake, per-peer queue, Noise T packets, receive loop, sink).
/// </summary>
internal static class PeerBench
{
    public static Command Create()
    {
        var count = new Option<int>("--count")
        {
            Description = "Messages to send",
            DefaultValueFactory = _ => 200_000,
        };
        var size = new Option<int>("--size")
        {
            Description = "Approximate JSON message size in bytes",
            DefaultValueFactory = _ => 512,
        };
        var mode = new Option<PeerTransportMode>("--mode")
        {
            Description = "noise or raw",
            DefaultValueFactory = _ => PeerTransportMode.Noise,
        };
        var command = new Command("peer", "Peer transport messages/s over loopback TCP (N+KK, ChaChaPoly/BLAKE2b)") { count, size, mode };
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var output = result.InvocationConfiguration.Output;
            int messages = Math.Max(1, result.GetValue(count));
            int bytes = Math.Clamp(result.GetValue(size), 64, 60_000);
            var transportMode = result.GetValue(mode);

            var sink = new CountingSink();
            await using var a = await Node.StartAsync(new CountingSink(), transportMode);
            await using var b = await Node.StartAsync(sink, transportMode);
            var padding = new string('x', bytes - 150);

            // Warm up: handshake and JIT.
            await a.Manager.SendAsync(b.Address, Message(b, padding, -1), cancellationToken);
            await sink.WaitForAsync(1, cancellationToken);

            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            var watch = Stopwatch.StartNew();
            var window = new List<Task>(1024);
            for (int i = 0; i < messages; i++)
            {
                window.Add(a.Manager.SendAsync(b.Address, Message(b, padding, i), cancellationToken));
                if (window.Count == window.Capacity)
                {
                    await Task.WhenAll(window);
                    window.Clear();
                }
            }

            await Task.WhenAll(window);
            await sink.WaitForAsync(messages + 1, cancellationToken);
            watch.Stop();
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;

            double rate = messages / watch.Elapsed.TotalSeconds;
            output.WriteLine($"Peer transport, loopback TCP, {transportMode}, one connection, {bytes}-byte messages (both sides in this process)");
            output.WriteLine($"{"figure",-44} {"messages",12} {"seconds",8} {"rate",16} {"MB/s",8} {"alloc/msg",12}");
            output.WriteLine($"{"send → deliver",-44} {messages,12:N0} {watch.Elapsed.TotalSeconds,8:0.00} {rate,12:N0} /s {rate * bytes / 1e6,8:0.0} {allocated / messages,10:N0} B");
            return 0;
        });
        return command;
    }

    private static JsonObject Message(Node to, string padding, int seq) => new()
    {
        ["target"] = "chit",
        ["action"] = "bench",
        ["to"] = new JsonObject { ["cuid"] = "u2", ["agent"] = to.Address.Agent },
        ["from"] = new JsonObject { ["cuid"] = "u1" },
        ["seq"] = seq,
        ["pad"] = padding,
    };

    private sealed class CountingSink : IPeerMessageSink
    {
        private long _count;

        public ValueTask<bool> AcceptTicketAsync(PeerTicketRequest ticket, CancellationToken cancellationToken) => ValueTask.FromResult(true);

        public ValueTask<PeerDelivery> DeliverAsync(PeerInboundMessage message, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return ValueTask.FromResult(PeerDelivery.Accepted);
        }

        public async Task WaitForAsync(long count, CancellationToken cancellationToken)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromMinutes(5));
            while (Interlocked.Read(ref _count) < count)
            {
                await Task.Delay(1, deadline.Token);
            }
        }
    }

    private sealed class Node(WebApplication app, PeerIdentity identity, ListenOptions listen) : IAsyncDisposable
    {
        public PeerConnectionManager Manager => app.Services.GetRequiredService<PeerConnectionManager>();

        public PeerAddress Address => new(identity.AgentId, "127.0.0.1", ((IPEndPoint)listen.EndPoint).Port);

        public static async Task<Node> StartAsync(IPeerMessageSink sink, PeerTransportMode mode)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Peer:Endpoint"] = "127.0.0.1:0",
                ["Peer:AllowedNetworks:0"] = "127.0.0.0/8", // both nodes on loopback
                ["Peer:Mode"] = mode.ToString(),
                ["Peer:MaxQueuedMessages"] = "1000000",
            });
            builder.Logging.ClearProviders();
            using var key = AgentKey.Generate();
            var identity = new PeerIdentity(key);
            ListenOptions? listen = null;
            var options = builder.Configuration.GetPeerTransportOptions();
            builder.WebHost.ConfigureKestrel(k => listen = k.ListenPeer(options));
            builder.Services.AddSingleton(identity);
            builder.Services.AddSingleton(sink);
            builder.Services.AddPeerTransport(builder.Configuration);
            var app = builder.Build();
            await app.StartAsync();
            return new Node(app, identity, listen!);
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
            identity.Dispose();
        }
    }
}
