namespace MyChips.Peer.Noise.Primitives;

/// <summary>
/// An incremental hash as Noise uses it (HASHLEN, BLOCKLEN, HASH over concatenations).
/// One instance per <see cref="SymmetricState"/>; not thread-safe.
/// </summary>
internal abstract class NoiseHash : IDisposable
{
    /// <summary>Largest HASHLEN of the supported functions (SHA-512, BLAKE2b).</summary>
    public const int MaxHashLength = 64;

    /// <summary>Largest BLOCKLEN of the supported functions (SHA-512, BLAKE2b).</summary>
    public const int MaxBlockLength = 128;

    public abstract int HashLength { get; }

    public abstract int BlockLength { get; }

    public abstract void Append(ReadOnlySpan<byte> data);

    /// <summary>Writes HASHLEN bytes and starts a new message.</summary>
    public abstract void Finish(Span<byte> hash);

    public abstract void Dispose();

    public static NoiseHash Create(NoiseHashFunction function) => function switch
    {
        NoiseHashFunction.Sha256 => new NSecNoiseHash(NSec.Cryptography.HashAlgorithm.Sha256, blockLength: 64),
        NoiseHashFunction.Sha512 => new NSecNoiseHash(NSec.Cryptography.HashAlgorithm.Sha512, blockLength: 128),
        NoiseHashFunction.Blake2b => new NSecNoiseHash(NSec.Cryptography.HashAlgorithm.Blake2b_512, blockLength: 128),
        NoiseHashFunction.Blake2s => new Blake2sNoiseHash(),
        _ => throw new ArgumentOutOfRangeException(nameof(function), function, null),
    };
}
