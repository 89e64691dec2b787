using System.Buffers;

namespace MyChips.Peer.Transport;

/// <summary>
/// One received packet: the header and a body in a rented buffer. Dispose exactly once to return the buffer.
/// </summary>
public readonly struct PeerFrame : IDisposable
{
    private readonly byte[]? _buffer;

    internal PeerFrame(PeerPacketType type, byte[] buffer, int length)
    {
        Type = type;
        _buffer = buffer;
        Length = length;
    }

    public PeerPacketType Type { get; }

    /// <summary>Body length, header byte excluded.</summary>
    public int Length { get; }

    public ReadOnlySpan<byte> Body => _buffer.AsSpan(0, Length);

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
