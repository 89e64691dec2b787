using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using MyChips.Peer.Noise;

namespace MyChips.Peer.Transport;

/// <summary>
/// The connection flows of PROTOCOL §4.4 on a duplex pipe: <c>I</c>→<c>A</c> (IK, first contact by ticket) and
/// <c>N</c>,<c>K</c>→<c>A</c> (N then KK), in Noise or raw mode. Every failure is a <see cref="PeerProtocolException"/>
/// with a reason; the responder writes nothing before the whole first flight has been checked.
/// </summary>
internal static class PeerHandshake
{
    private static readonly NoiseProtocol Ik = NoiseProtocol.ChipsSuite("IK");
    private static readonly NoiseProtocol N = NoiseProtocol.ChipsSuite("N");
    private static readonly NoiseProtocol Kk = NoiseProtocol.ChipsSuite("KK");

    /// <summary>Largest handshake frame: a Noise message plus the header byte.</summary>
    public const int MaxHandshakeFrameBytes = PeerTransportOptions.NoiseMaxFrameBytes;

    /// <summary>Largest first message that fits in <c>I</c> (the bigger overhead of I and K): e, enc(s), tag.</summary>
    public const int MaxFirstMessageBytes = HandshakeState.MaxMessageLength - 32 - 48 - 16;

    /// <summary>Initiator: sends <c>I</c> (when <paramref name="ticket"/>) or <c>N</c>+<c>K</c> carrying <paramref name="firstMessage"/>, then waits for <c>A</c>.</summary>
    public static async Task<PeerHandshakeResult> InitiateAsync(
        IDuplexPipe pipe,
        PeerIdentity identity,
        string peerAgent,
        byte[] peerKey,
        PeerTransportMode mode,
        ReadOnlyMemory<byte> firstMessage,
        bool ticket,
        CancellationToken cancellationToken)
    {
        if (mode == PeerTransportMode.Raw)
        {
            if (ticket)
            {
                PeerFrameCodec.Write(pipe.Output, PeerPacketType.I, firstMessage.Span);
            }
            else
            {
                PeerFrameCodec.Write(pipe.Output, PeerPacketType.N, JsonSerializer.SerializeToUtf8Bytes(identity.AgentId));
                PeerFrameCodec.Write(pipe.Output, PeerPacketType.K, firstMessage.Span);
            }

            await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);
            using var ack = await PeerFrameCodec.ReadAsync(pipe.Input, MaxHandshakeFrameBytes, cancellationToken).ConfigureAwait(false);
            if (ack.Type != PeerPacketType.A || ack.Length != 0)
            {
                throw new PeerProtocolException(PeerCloseReason.UnexpectedPacket, $"Expected an empty A, got {ack.Type} ({ack.Length} bytes).");
            }

            return new PeerHandshakeResult(peerAgent, mode, null, null, ticket);
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(HandshakeState.MaxMessageLength);
        HandshakeState? state = null;
        try
        {
            if (ticket)
            {
                state = new HandshakeState(Ik, NoiseRole.Initiator, default, identity.StaticKey, peerKey);
                int length = state.WriteMessage(firstMessage.Span, buffer);
                PeerFrameCodec.Write(pipe.Output, PeerPacketType.I, buffer.AsSpan(0, length));
            }
            else
            {
                // N is a one-shot handshake that only tells the responder who we are; it is discarded afterwards.
                using (var announce = new HandshakeState(N, NoiseRole.Initiator, default, null, peerKey))
                {
                    int length = announce.WriteMessage(JsonSerializer.SerializeToUtf8Bytes(identity.AgentId), buffer);
                    PeerFrameCodec.Write(pipe.Output, PeerPacketType.N, buffer.AsSpan(0, length));
                }

                state = new HandshakeState(Kk, NoiseRole.Initiator, default, identity.StaticKey, peerKey);
                int kLength = state.WriteMessage(firstMessage.Span, buffer);
                PeerFrameCodec.Write(pipe.Output, PeerPacketType.K, buffer.AsSpan(0, kLength));
            }

            await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);
            using var ack = await PeerFrameCodec.ReadAsync(pipe.Input, MaxHandshakeFrameBytes, cancellationToken).ConfigureAwait(false);
            if (ack.Type != PeerPacketType.A)
            {
                throw new PeerProtocolException(PeerCloseReason.UnexpectedPacket, $"Expected A, got {ack.Type}.");
            }

            int payload = ReadNoise(state, ack.Body, buffer);
            if (payload != 0)
            {
                throw new PeerProtocolException(PeerCloseReason.UnexpectedPacket, $"A carries a {payload}-byte payload; it must be empty.");
            }

            return new PeerHandshakeResult(peerAgent, mode, Split(state, mode), null, ticket);
        }
        finally
        {
            state?.Dispose();
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    /// <summary>
    /// Responder: reads <c>I</c>, or <c>N</c> then <c>K</c>; binds the peer's identity; asks the sink about a ticket;
    /// only then answers <c>A</c>. The first message is returned, checked but not yet delivered.
    /// </summary>
    public static async Task<PeerHandshakeResult> RespondAsync(
        IDuplexPipe pipe,
        PeerIdentity identity,
        PeerKeyResolver keys,
        PeerTransportOptions options,
        IPeerMessageSink sink,
        EndPoint? remoteEndPoint,
        CancellationToken cancellationToken)
    {
        int maxFrame = Math.Min(options.MaxFrameBytes, MaxHandshakeFrameBytes);
        if (options.AnyRaw)
        {
            maxFrame = Math.Max(maxFrame, options.MaxFrameBytes);
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(HandshakeState.MaxMessageLength);
        try
        {
            using var first = await PeerFrameCodec.ReadAsync(pipe.Input, maxFrame, cancellationToken).ConfigureAwait(false);
            PeerHandshakeResult result;
            switch (first.Type)
            {
                case PeerPacketType.I:
                    result = await RespondTicketAsync(pipe, identity, keys, options, sink, remoteEndPoint, first, buffer, cancellationToken).ConfigureAwait(false);
                    break;
                case PeerPacketType.N:
                    result = await RespondNormalAsync(pipe, identity, keys, options, first, buffer, maxFrame, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new PeerProtocolException(PeerCloseReason.UnexpectedPacket, $"A connection must open with I or N, not {first.Type}.");
            }

            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    private static async Task<PeerHandshakeResult> RespondTicketAsync(
        IDuplexPipe pipe,
        PeerIdentity identity,
        PeerKeyResolver keys,
        PeerTransportOptions options,
        IPeerMessageSink sink,
        EndPoint? remoteEndPoint,
        PeerFrame frame,
        byte[] buffer,
        CancellationToken cancellationToken)
    {
        JsonObject message;
        string peerAgent;
        HandshakeState? state = null;
        try
        {
            if (LooksRaw(frame.Body, (byte)'{'))
            {
                message = PeerEnvelope.Parse(frame.Body);
                peerAgent = RequireFromAgent(message);
                keys.Resolve(peerAgent);
                RequireRawAllowed(options, peerAgent);
            }
            else
            {
                state = new HandshakeState(Ik, NoiseRole.Responder, default, identity.StaticKey);
                int length = ReadNoise(state, frame.Body, buffer);
                message = PeerEnvelope.Parse(buffer.AsSpan(0, length));
                peerAgent = RequireFromAgent(message);
                byte[] expected = keys.Resolve(peerAgent);

                // Identity binding (PROTOCOL §4.2, ref bug T3): the key that proved itself must be from.agent's key.
                if (!CryptographicOperations.FixedTimeEquals(expected, state.RemoteStatic))
                {
                    throw new PeerProtocolException(PeerCloseReason.IdentityMismatch, $"The IK static key is not the key of from.agent {peerAgent}.");
                }
            }

            var mode = state is null ? PeerTransportMode.Raw : NoiseModeFor(options, peerAgent);

            // Ref bug T2: the ticket is checked before anything is written.
            if (!await sink.AcceptTicketAsync(new PeerTicketRequest(peerAgent, message, mode, remoteEndPoint), cancellationToken).ConfigureAwait(false))
            {
                throw new PeerProtocolException(PeerCloseReason.TicketRefused, $"The ticket from {peerAgent} was refused.");
            }

            NoiseTransport? transport = null;
            if (state is null)
            {
                PeerFrameCodec.Write(pipe.Output, PeerPacketType.A, default);
            }
            else
            {
                int length = state.WriteMessage(default, buffer);
                PeerFrameCodec.Write(pipe.Output, PeerPacketType.A, buffer.AsSpan(0, length));
                transport = Split(state, mode);
            }

            try
            {
                await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                transport?.Dispose();
                throw;
            }

            return new PeerHandshakeResult(peerAgent, mode, transport, message, FirstContact: true);
        }
        finally
        {
            state?.Dispose();
        }
    }

    private static async Task<PeerHandshakeResult> RespondNormalAsync(
        IDuplexPipe pipe,
        PeerIdentity identity,
        PeerKeyResolver keys,
        PeerTransportOptions options,
        PeerFrame announce,
        byte[] buffer,
        int maxFrame,
        CancellationToken cancellationToken)
    {
        string peerAgent;
        bool raw = LooksRaw(announce.Body, (byte)'"') && PeerEnvelope.ParseJsonString(announce.Body) is not null;
        if (raw)
        {
            peerAgent = PeerEnvelope.ParseJsonString(announce.Body)!;
            keys.Resolve(peerAgent);
            RequireRawAllowed(options, peerAgent);
        }
        else
        {
            using var state = new HandshakeState(N, NoiseRole.Responder, default, identity.StaticKey);
            int length = ReadNoise(state, announce.Body, buffer);
            peerAgent = PeerEnvelope.ParseJsonString(buffer.AsSpan(0, length))
                ?? throw new PeerProtocolException(PeerCloseReason.MalformedMessage, "The N payload is not a JSON string.");
        }

        byte[] peerKey = keys.Resolve(peerAgent);
        using var k = await PeerFrameCodec.ReadAsync(pipe.Input, maxFrame, cancellationToken).ConfigureAwait(false);
        if (k.Type != PeerPacketType.K)
        {
            throw new PeerProtocolException(PeerCloseReason.UnexpectedPacket, $"Expected K after N, got {k.Type}.");
        }

        if (raw)
        {
            var rawMessage = PeerEnvelope.Parse(k.Body);
            RequireSender(rawMessage, peerAgent);
            PeerFrameCodec.Write(pipe.Output, PeerPacketType.A, default);
            await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);
            return new PeerHandshakeResult(peerAgent, PeerTransportMode.Raw, null, rawMessage, FirstContact: false);
        }

        using var kk = new HandshakeState(Kk, NoiseRole.Responder, default, identity.StaticKey, peerKey);
        int payload = ReadNoise(kk, k.Body, buffer);
        var message = PeerEnvelope.Parse(buffer.AsSpan(0, payload));
        RequireSender(message, peerAgent);

        int ackLength = kk.WriteMessage(default, buffer);
        PeerFrameCodec.Write(pipe.Output, PeerPacketType.A, buffer.AsSpan(0, ackLength));
        var mode = NoiseModeFor(options, peerAgent);
        var transport = Split(kk, mode);
        try
        {
            await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            transport.Dispose();
            throw;
        }

        return new PeerHandshakeResult(peerAgent, mode, transport, message, FirstContact: false);
    }

    // A raw body starts with '{' (I, K) or '"' (N); a Noise body starts with a random ephemeral key. A Noise body that
    // happens to start that way still fails to parse as JSON and is then treated as Noise.
    private static bool LooksRaw(ReadOnlySpan<byte> body, byte first)
    {
        if (body.IsEmpty || body[0] != first)
        {
            return false;
        }

        if (first == (byte)'"')
        {
            return true;
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return reader.TokenType == JsonTokenType.EndObject && reader.BytesConsumed == body.Length;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // A responder learns who the peer is only from the N payload or the ticket's from.agent (bound to rs), so the
    // split for a reference peer is chosen here, after identification and before A is sent.
    private static PeerTransportMode NoiseModeFor(PeerTransportOptions options, string peerAgent) =>
        options.ModeFor(peerAgent) == PeerTransportMode.NoiseReference ? PeerTransportMode.NoiseReference : PeerTransportMode.Noise;

    private static NoiseTransport Split(HandshakeState state, PeerTransportMode mode) =>
        mode == PeerTransportMode.NoiseReference ? state.SplitLikeReference() : state.Split();

    private static void RequireRawAllowed(PeerTransportOptions options, string peerAgent)
    {
        if (options.ModeFor(peerAgent) != PeerTransportMode.Raw)
        {
            throw new PeerProtocolException(PeerCloseReason.RawModeNotAllowed, $"{peerAgent} opened in raw mode, which is not enabled for it.");
        }
    }

    private static string RequireFromAgent(JsonObject message) =>
        PeerEnvelope.FromAgent(message)
        ?? throw new PeerProtocolException(PeerCloseReason.MalformedMessage, "The message has no from.agent.");

    private static void RequireSender(JsonObject message, string peerAgent)
    {
        string fromAgent = RequireFromAgent(message);
        if (!string.Equals(fromAgent, peerAgent, StringComparison.Ordinal))
        {
            throw new PeerProtocolException(PeerCloseReason.SpoofedSender, $"from.agent {fromAgent} is not the connection's peer {peerAgent}.");
        }
    }

    private static int ReadNoise(HandshakeState state, ReadOnlySpan<byte> message, Span<byte> payload)
    {
        try
        {
            return state.ReadMessage(message, payload);
        }
        catch (CryptographicException e)
        {
            throw new PeerProtocolException(PeerCloseReason.HandshakeFailed, $"The {state.Protocol.Pattern.Name} handshake failed: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new PeerProtocolException(PeerCloseReason.HandshakeFailed, $"The {state.Protocol.Pattern.Name} handshake message is malformed: {e.Message}", e);
        }
    }

    private static async ValueTask FlushAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        var result = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new PeerProtocolException(PeerCloseReason.PeerClosed, "The connection closed during the handshake.");
        }
    }
}
