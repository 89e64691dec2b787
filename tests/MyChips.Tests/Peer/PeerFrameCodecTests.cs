using System.Buffers;
using System.IO.Pipelines;
using MyChips.Peer.Transport;

namespace MyChips.Tests.Peer;

public sealed class PeerFrameCodecTests
{
    [Fact]
    public async Task WriteThenRead_RoundTripsHeaderAndBody()
    {
        var pipe = new Pipe();
        PeerFrameCodec.Write(pipe.Writer, PeerPacketType.T, "{\"a\":1}"u8);
        PeerFrameCodec.Write(pipe.Writer, PeerPacketType.A, default);
        await pipe.Writer.FlushAsync();

        using (var t = await PeerFrameCodec.ReadAsync(pipe.Reader, 1024, CancellationToken.None))
        {
            Assert.Equal(PeerPacketType.T, t.Type);
            Assert.Equal("{\"a\":1}"u8.ToArray(), t.Body.ToArray());
        }

        using var a = await PeerFrameCodec.ReadAsync(pipe.Reader, 1024, CancellationToken.None);
        Assert.Equal(PeerPacketType.A, a.Type);
        Assert.Equal(0, a.Length);
    }

    [Fact]
    public void LengthPrefix_CountsTheHeaderByte_BigEndian()
    {
        var writer = new ArrayBufferWriter<byte>();
        PeerFrameCodec.Write(writer, PeerPacketType.T, "xyz"u8);
        Assert.Equal(new byte[] { 0, 0, 0, 4, (byte)'T', (byte)'x', (byte)'y', (byte)'z' }, writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0 }, PeerCloseReason.EmptyFrame)]
    [InlineData(new byte[] { 0, 0, 4, 1 }, PeerCloseReason.OversizeFrame)]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, PeerCloseReason.OversizeFrame)]
    [InlineData(new byte[] { 0, 0, 0, 2, (byte)'X', 0 }, PeerCloseReason.UnknownHeader)]
    public void InvalidPrefixOrHeader_ThrowsWithStableReason_BeforeTheBodyArrives(byte[] bytes, PeerCloseReason reason)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        var failure = Assert.Throws<PeerProtocolException>(() => PeerFrameCodec.TryParse(ref buffer, 1024, out _));
        Assert.Equal(reason, failure.Reason);
    }

    [Fact]
    public async Task EndOfStreamInsideAFrame_IsTruncated_AtABoundaryIsPeerClosed()
    {
        var truncated = new Pipe();
        await truncated.Writer.WriteAsync(new byte[] { 0, 0, 0, 9, (byte)'T', 1, 2 });
        await truncated.Writer.CompleteAsync();
        var failure = await Assert.ThrowsAsync<PeerProtocolException>(async () => await PeerFrameCodec.ReadAsync(truncated.Reader, 1024, CancellationToken.None));
        Assert.Equal(PeerCloseReason.TruncatedFrame, failure.Reason);

        var closed = new Pipe();
        await closed.Writer.CompleteAsync();
        failure = await Assert.ThrowsAsync<PeerProtocolException>(async () => await PeerFrameCodec.ReadAsync(closed.Reader, 1024, CancellationToken.None));
        Assert.Equal(PeerCloseReason.PeerClosed, failure.Reason);
    }
}
