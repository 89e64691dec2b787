namespace MyChips.Peer.Noise.Primitives;

/// <summary>BLAKE2s-256 (HASHLEN 32, BLOCKLEN 64) for Noise, on the local RFC 7693 implementation.</summary>
internal sealed class Blake2sNoiseHash : NoiseHash
{
    private readonly Blake2s _state = new();

    public override int HashLength => Blake2s.MaxHashLength;

    public override int BlockLength => Blake2s.BlockLength;

    public override void Append(ReadOnlySpan<byte> data) => _state.Update(data);

    public override void Finish(Span<byte> hash) => _state.Finish(hash[..HashLength]);

    public override void Dispose() => _state.Dispose();
}
