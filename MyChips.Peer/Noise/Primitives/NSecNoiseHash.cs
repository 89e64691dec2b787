using NSec.Cryptography;

namespace MyChips.Peer.Noise.Primitives;

/// <summary>SHA-256, SHA-512 and BLAKE2b-512 through NSec's (libsodium's) incremental hashing.</summary>
internal sealed class NSecNoiseHash : NoiseHash
{
    private readonly HashAlgorithm _algorithm;
    private IncrementalHash _state;
    private bool _disposed;

    public NSecNoiseHash(HashAlgorithm algorithm, int blockLength)
    {
        _algorithm = algorithm;
        BlockLength = blockLength;
        IncrementalHash.Initialize(_algorithm, out _state);
    }

    public override int HashLength => _algorithm.HashSize;

    public override int BlockLength { get; }

    public override void Append(ReadOnlySpan<byte> data) => IncrementalHash.Update(ref _state, data);

    public override void Finish(Span<byte> hash)
    {
        IncrementalHash.Finalize(ref _state, hash);
        IncrementalHash.Initialize(_algorithm, out _state);
    }

    public override void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // Finalizing wipes libsodium's state; the output is discarded.
        Span<byte> discard = stackalloc byte[MaxHashLength];
        IncrementalHash.Finalize(ref _state, discard[..HashLength]);
        discard.Clear();
    }
}
