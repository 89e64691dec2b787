using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using MyChips.Data.Crypto;
using MyChips.Peer.Noise;
using MyChips.Peer.Transport;
using MyChips.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MyChips.Tests.Peer;

/// <summary>Random, truncated, oversize and tampered frames at the peer listener: no crash, no write, still serving.</summary>
public sealed class PeerListenerFuzzTests(ITestOutputHelper output)
{
    private const int Cases = 2000;
    private const int Seed = 5_2025;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly byte[] Headers = "INKAT"u8.ToArray();

    [Fact]
    public async Task RandomTruncatedOversizeAndTamperedFrames_NoCrashNoWriteSinkNeverCalled_ListenerStillServes()
    {
        await using var b = await PeerNode.StartAsync();
        using var aKey = AgentKey.Generate();
        using var a = new PeerIdentity(aKey);
        byte[] bStatic = new PeerKeyResolver().Resolve(b.AgentId);

        var random = new Random(Seed);
        var cases = Enumerable.Range(0, Cases).Select(_ => NextCase(random, a, b, bStatic)).ToList();

        var watch = Stopwatch.StartNew();
        int[] replies = new int[Cases];
        await Parallel.ForEachAsync(Enumerable.Range(0, Cases), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            replies[i] = await RawPeerClient.SendAndCountRepliesAsync(b.Port, cases[i], Timeout));
        output.WriteLine($"{Cases} cases in {watch.ElapsedMilliseconds} ms");

        // Not one byte came back on any of them: no A, nothing.
        Assert.All(replies, r => Assert.Equal(0, r));
        Assert.Empty(b.Sink.Deliveries);
        Assert.Empty(b.Sink.Tickets);
        foreach (var reason in new[] { "EmptyFrame", "OversizeFrame", "UnknownHeader", "TruncatedFrame", "HandshakeFailed", "UnexpectedPacket" })
        {
            Assert.True(b.Logs.Contains($"refused ({reason})"), $"some case was refused with {reason}");
        }

        // The listener still serves a well-behaved peer.
        await using var good = await PeerNode.StartAsync();
        await good.Manager.SendAsync(PeerNode.Message(b, 42)).WaitAsync(Timeout);
        await Wait.UntilAsync(() => b.Sink.Deliveries.Count == 1, Timeout, "the good peer's message arrives");
        Assert.Equal([42], b.Sink.Sequence());
    }

    private static byte[] NextCase(Random random, PeerIdentity a, PeerNode b, byte[] bStatic)
    {
        switch (random.Next(9))
        {
            case 0: // unframed noise
                return RandomBytes(random, random.Next(0, 300));
            case 1: // well-framed, known header, random body
                return RawPeerClient.Frame(Headers[random.Next(Headers.Length)], RandomBytes(random, random.Next(0, 200)));
            case 2: // unknown header
                byte header;
                do
                {
                    header = (byte)random.Next(256);
                }
                while (Headers.Contains(header));
                return RawPeerClient.Frame(header, RandomBytes(random, random.Next(0, 100)));
            case 3: // zero length
                return [0, 0, 0, 0, .. RandomBytes(random, random.Next(0, 10))];
            case 4: // oversize prefix
                var oversize = new byte[4 + random.Next(1, 64)];
                random.NextBytes(oversize);
                BinaryPrimitives.WriteUInt32BigEndian(oversize, (uint)random.NextInt64((1 << 20) + 1, uint.MaxValue));
                oversize[4] = Headers[random.Next(Headers.Length)];
                return oversize;
            case 5: // truncated frame
                var whole = RawPeerClient.Frame(Headers[random.Next(Headers.Length)], RandomBytes(random, random.Next(1, 200)));
                return whole[..random.Next(1, whole.Length)];
            case 6: // several random frames
                return [.. Enumerable.Range(0, random.Next(2, 5)).SelectMany(_ => RawPeerClient.Frame(Headers[random.Next(Headers.Length)], RandomBytes(random, random.Next(0, 120))))];
            case 7: // a real N+K with one byte flipped (a replay of the untouched pair would be a valid connection)
                return Flip(random, RealNk(a, b, bStatic, random.Next()));
            default: // a real I with one byte flipped
                return Flip(random, RealI(a, b, bStatic, random.Next()));
        }
    }

    private static byte[] RealNk(PeerIdentity a, PeerNode b, byte[] bStatic, int seq)
    {
        var buffer = new byte[HandshakeState.MaxMessageLength];
        using var n = new HandshakeState(NoiseProtocol.ChipsSuite("N"), NoiseRole.Initiator, default, null, bStatic);
        var nFrame = RawPeerClient.Frame((byte)'N', buffer.AsSpan(0, n.WriteMessage(JsonSerializer.SerializeToUtf8Bytes(a.AgentId), buffer)));
        var message = PeerNode.Message(b, seq);
        PeerEnvelope.StampFrom(message, a);
        using var kk = new HandshakeState(NoiseProtocol.ChipsSuite("KK"), NoiseRole.Initiator, default, a.StaticKey, bStatic);
        var kFrame = RawPeerClient.Frame((byte)'K', buffer.AsSpan(0, kk.WriteMessage(JsonSerializer.SerializeToUtf8Bytes(message), buffer)));
        return [.. nFrame, .. kFrame];
    }

    private static byte[] RealI(PeerIdentity a, PeerNode b, byte[] bStatic, int seq)
    {
        var buffer = new byte[HandshakeState.MaxMessageLength];
        var ticket = PeerNode.Ticket(b, seq);
        PeerEnvelope.StampFrom(ticket, a);
        using var ik = new HandshakeState(NoiseProtocol.ChipsSuite("IK"), NoiseRole.Initiator, default, a.StaticKey, bStatic);
        return RawPeerClient.Frame((byte)'I', buffer.AsSpan(0, ik.WriteMessage(JsonSerializer.SerializeToUtf8Bytes(ticket), buffer)));
    }

    private static byte[] Flip(Random random, byte[] bytes)
    {
        bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
        return bytes;
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
