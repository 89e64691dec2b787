using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace MyChips.Peer.Transport;

/// <summary>
/// Framing (PROTOCOL §4.1): uint32 big-endian length, which counts the header byte but not itself, then the header
/// byte, then the body. Oversized, empty, truncated and unknown frames raise <see cref="PeerProtocolException"/>
/// before any body byte is buffered, so a peer cannot make us allocate more than the cap.
/// </summary>
public static class PeerFrameCodec
{
    public const int LengthPrefixBytes = 4;

    /// <summary>Prefix plus header byte.</summary>
    public const int FrameOverhead = LengthPrefixBytes + 1;

    /// <summary>Reads the next frame. <paramref name="maxFrameBytes"/> counts the header byte, as the prefix does.</summary>
    public static async ValueTask<PeerFrame> ReadAsync(PipeReader reader, int maxFrameBytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            PeerFrame frame;
            bool complete;
            try
            {
                complete = TryParse(ref buffer, maxFrameBytes, out frame);
            }
            catch
            {
                reader.AdvanceTo(buffer.Start);
                throw;
            }

            if (complete)
            {
                reader.AdvanceTo(buffer.Start);
                return frame;
            }

            if (result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException("The frame read was cancelled.");
            }

            if (result.IsCompleted)
            {
                bool empty = buffer.IsEmpty;
                reader.AdvanceTo(buffer.End);
                throw empty
                    ? new PeerProtocolException(PeerCloseReason.PeerClosed, "The peer closed the connection.")
                    : new PeerProtocolException(PeerCloseReason.TruncatedFrame, $"The connection ended inside a frame ({buffer.Length} bytes pending).");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>
    /// Takes one complete frame off the front of <paramref name="buffer"/> into a rented body buffer; false if more bytes
    /// are needed. Throws as soon as the prefix or header byte shows the frame is invalid.
    /// </summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, int maxFrameBytes, out PeerFrame frame)
    {
        frame = default;
        if (buffer.Length < LengthPrefixBytes)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[FrameOverhead];
        int available = (int)Math.Min(buffer.Length, FrameOverhead);
        buffer.Slice(0, available).CopyTo(prefix);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        if (length == 0)
        {
            throw new PeerProtocolException(PeerCloseReason.EmptyFrame, "A frame of length 0 has no header byte.");
        }

        if (length > (uint)maxFrameBytes)
        {
            throw new PeerProtocolException(PeerCloseReason.OversizeFrame, $"A frame of {length} bytes exceeds the cap of {maxFrameBytes}.");
        }

        if (available < FrameOverhead)
        {
            return false;
        }

        var type = (PeerPacketType)prefix[LengthPrefixBytes];
        if (!IsKnown(type))
        {
            throw new PeerProtocolException(PeerCloseReason.UnknownHeader, $"Unknown packet header 0x{prefix[LengthPrefixBytes]:X2}.");
        }

        if (buffer.Length < LengthPrefixBytes + length)
        {
            return false;
        }

        int bodyLength = (int)length - 1;
        byte[] body = ArrayPool<byte>.Shared.Rent(Math.Max(bodyLength, 1));
        buffer.Slice(FrameOverhead, bodyLength).CopyTo(body);
        buffer = buffer.Slice(LengthPrefixBytes + length);
        frame = new PeerFrame(type, body, bodyLength);
        return true;
    }

    public static bool IsKnown(PeerPacketType type) =>
        type is PeerPacketType.I or PeerPacketType.N or PeerPacketType.K or PeerPacketType.A or PeerPacketType.T;

    /// <summary>Writes a whole frame (prefix, header, body) into <paramref name="writer"/>; the caller flushes.</summary>
    public static void Write(IBufferWriter<byte> writer, PeerPacketType type, ReadOnlySpan<byte> body)
    {
        var span = Begin(writer, type, body.Length);
        body.CopyTo(span);
        writer.Advance(FrameOverhead + body.Length);
    }

    /// <summary>
    /// Writes prefix and header and returns the span for a body of exactly <paramref name="bodyLength"/> bytes, so a
    /// cipher can encrypt straight into the output; then call <c>writer.Advance(FrameOverhead + bodyLength)</c>.
    /// </summary>
    public static Span<byte> Begin(IBufferWriter<byte> writer, PeerPacketType type, int bodyLength)
    {
        var span = writer.GetSpan(FrameOverhead + bodyLength);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)(bodyLength + 1));
        span[LengthPrefixBytes] = (byte)type;
        return span.Slice(FrameOverhead, bodyLength);
    }
}
