using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MyChips.Peer.Noise;

namespace MyChips.Bench;

/// <summary>
/// Scenario <c>noise</c>: handshakes per second (XX, IK and the site's N+KK) and transport throughput for
/// Noise_*_25519_ChaChaPoly_BLAKE2b, both parties in memory. Each figure runs until its time or count bound.
/// </summary>
internal static class NoiseBench
{
    private const string Suite = "25519_ChaChaPoly_BLAKE2b";

    public static Command Create()
    {
        var seconds = new Option<double>("--seconds")
        {
            Description = "Time bound per figure, in seconds",
            DefaultValueFactory = _ => 3.0,
        };
        var count = new Option<long>("--count")
        {
            Description = "Operation bound per figure",
            DefaultValueFactory = _ => 10_000_000,
        };
        var command = new Command("noise", "Noise handshake rate and transport throughput (ChaChaPoly/BLAKE2b)") { seconds, count };
        command.SetAction((ParseResult result, CancellationToken cancellationToken) =>
        {
            var bound = new Bound(TimeSpan.FromSeconds(result.GetValue(seconds)), Math.Max(1, result.GetValue(count)), cancellationToken);
            var output = result.InvocationConfiguration.Output;
            output.WriteLine($"Noise {Suite}, in-memory, bound {bound.Time.TotalSeconds:0.##} s or {bound.Count:N0} ops per figure");
            output.WriteLine($"{"figure",-44} {"ops",12} {"seconds",8} {"rate",16} {"alloc/op",12}");
            foreach (var row in Run(bound))
            {
                output.WriteLine($"{row.Name,-44} {row.Operations,12:N0} {row.Elapsed.TotalSeconds,8:0.00} {row.Rate,16} {row.AllocatedPerOperation,10:N0} B");
            }

            return Task.FromResult(0);
        });
        return command;
    }

    private static IEnumerable<Row> Run(Bound bound)
    {
        using var initStatic = X25519KeyPair.Generate();
        using var respStatic = X25519KeyPair.Generate();
        var xx = NoiseProtocol.Parse($"Noise_XX_{Suite}");
        var ik = NoiseProtocol.Parse($"Noise_IK_{Suite}");
        var n = NoiseProtocol.Parse($"Noise_N_{Suite}");
        var kk = NoiseProtocol.Parse($"Noise_KK_{Suite}");
        var buffers = new Buffers();

        yield return Handshakes("XX handshake", bound, () =>
        {
            using var i = new HandshakeState(xx, NoiseRole.Initiator, localStatic: initStatic);
            using var r = new HandshakeState(xx, NoiseRole.Responder, localStatic: respStatic);
            Complete(i, r, buffers);
        });
        yield return Handshakes("IK handshake", bound, () =>
        {
            using var i = new HandshakeState(ik, NoiseRole.Initiator, localStatic: initStatic, remoteStatic: respStatic.PublicKey);
            using var r = new HandshakeState(ik, NoiseRole.Responder, localStatic: respStatic);
            Complete(i, r, buffers);
        });
        yield return Handshakes("N+KK site connection", bound, () =>
        {
            using (var i = new HandshakeState(n, NoiseRole.Initiator, remoteStatic: respStatic.PublicKey))
            using (var r = new HandshakeState(n, NoiseRole.Responder, localStatic: respStatic))
            {
                Complete(i, r, buffers);
            }

            using var ki = new HandshakeState(kk, NoiseRole.Initiator, localStatic: initStatic, remoteStatic: respStatic.PublicKey);
            using var kr = new HandshakeState(kk, NoiseRole.Responder, localStatic: respStatic, remoteStatic: initStatic.PublicKey);
            Complete(ki, kr, buffers);
        });

        foreach (int size in new[] { 1024, 65536 })
        {
            int payloadSize = Math.Min(size, NoiseTransport.MaxPayloadLength);
            // A 64 KiB payload would exceed the 65535-byte Noise message; the largest one (65519 B + tag) stands in for it.
            string label = payloadSize == size ? "1 KiB" : $"64 KiB ({payloadSize} B)";
            var plaintext = new byte[payloadSize];
            Random.Shared.NextBytes(plaintext);
            var ciphertext = new byte[NoiseTransport.GetCiphertextLength(payloadSize)];
            var decrypted = new byte[payloadSize];

            // Each figure gets its own session: encrypt-only advances the sender's nonce past the receiver's.
            using (var encryptOnly = Session(xx, initStatic, respStatic, buffers))
            {
                yield return Transport($"transport {label} encrypt", bound, payloadSize, () => encryptOnly.Initiator.Encrypt(plaintext, ciphertext));
            }

            using var session = Session(xx, initStatic, respStatic, buffers);
            yield return Transport($"transport {label} encrypt+decrypt", bound, payloadSize, () =>
            {
                session.Responder.Decrypt(ciphertext.AsSpan(0, session.Initiator.Encrypt(plaintext, ciphertext)), decrypted);
            });
        }
    }

    private static TransportPair Session(NoiseProtocol protocol, X25519KeyPair initStatic, X25519KeyPair respStatic, Buffers buffers)
    {
        using var i = new HandshakeState(protocol, NoiseRole.Initiator, localStatic: initStatic);
        using var r = new HandshakeState(protocol, NoiseRole.Responder, localStatic: respStatic);
        Complete(i, r, buffers, split: false);
        return new TransportPair(i.Split(), r.Split());
    }

    private static void Complete(HandshakeState initiator, HandshakeState responder, Buffers buffers, bool split = true)
    {
        while (!initiator.IsCompleted)
        {
            var (writer, reader) = initiator.IsWriteTurn ? (initiator, responder) : (responder, initiator);
            int length = writer.WriteMessage(buffers.Payload, buffers.Message);
            reader.ReadMessage(buffers.Message.AsSpan(0, length), buffers.Received);
        }

        if (split)
        {
            using var a = initiator.Split();
            using var b = responder.Split();
        }
    }

    private static Row Handshakes(string name, Bound bound, Action handshake)
    {
        var (operations, elapsed, allocated) = Measure(bound, handshake);
        return new Row(name, operations, elapsed, $"{operations / elapsed.TotalSeconds:N0} /s", allocated);
    }

    private static Row Transport(string name, Bound bound, int payloadSize, Action message)
    {
        var (operations, elapsed, allocated) = Measure(bound, message);
        double megabytes = operations * (double)payloadSize / (1024 * 1024);
        return new Row(name, operations, elapsed, (megabytes / elapsed.TotalSeconds).ToString("N1", CultureInfo.InvariantCulture) + " MB/s", allocated);
    }

    private static (long Operations, TimeSpan Elapsed, long AllocatedPerOperation) Measure(Bound bound, Action operation)
    {
        for (int i = 0; i < 10; i++)
        {
            operation(); // JIT and first-use costs stay out of the figure
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        long operations = 0;
        while (operations < bound.Count && stopwatch.Elapsed < bound.Time && !bound.Cancellation.IsCancellationRequested)
        {
            operation();
            operations++;
        }

        stopwatch.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return (operations, stopwatch.Elapsed, operations == 0 ? 0 : allocated / operations);
    }

    private sealed record TransportPair(NoiseTransport Initiator, NoiseTransport Responder) : IDisposable
    {
        public void Dispose()
        {
            Initiator.Dispose();
            Responder.Dispose();
        }
    }

    private sealed record Bound(TimeSpan Time, long Count, CancellationToken Cancellation);

    private sealed record Row(string Name, long Operations, TimeSpan Elapsed, string Rate, long AllocatedPerOperation);

    private sealed class Buffers
    {
        public byte[] Payload { get; } = new byte[64];

        public byte[] Message { get; } = new byte[512];

        public byte[] Received { get; } = new byte[512];
    }
}
