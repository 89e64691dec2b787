using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace MyChips.Peer.Noise.Primitives;

/// <summary>
/// BLAKE2s (RFC 7693), incremental, with optional key and digest length 1..32.
/// Neither the BCL nor NSec offers BLAKE2s, and Noise needs it for the <c>BLAKE2s</c> suites.
/// </summary>
public sealed class Blake2s : IDisposable
{
    public const int BlockLength = 64;
    public const int MaxHashLength = 32;
    public const int MaxKeyLength = 32;

    private static ReadOnlySpan<uint> IV =>
    [
        0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
        0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
    ];

    // Message word schedule; rounds 10..11 of BLAKE2b do not exist in BLAKE2s (10 rounds).
    private static ReadOnlySpan<byte> Sigma =>
    [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
        11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
        7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
        9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
        2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
        12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
        13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
        6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
        10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
    ];

    private readonly uint[] _h = new uint[8];
    private readonly byte[] _buffer = new byte[BlockLength];
    private readonly byte[] _key = new byte[MaxKeyLength];
    private readonly int _keyLength;
    private int _bufferLength;
    private ulong _counter;

    /// <summary>Creates an unkeyed or keyed BLAKE2s state producing <paramref name="hashLength"/> bytes.</summary>
    public Blake2s(int hashLength = MaxHashLength, ReadOnlySpan<byte> key = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hashLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hashLength, MaxHashLength);
        if (key.Length > MaxKeyLength)
        {
            throw new ArgumentException($"A BLAKE2s key is at most {MaxKeyLength} bytes.", nameof(key));
        }

        HashLength = hashLength;
        _keyLength = key.Length;
        key.CopyTo(_key);
        Reset();
    }

    public int HashLength { get; }

    /// <summary>One-shot hash of <paramref name="data"/> into <paramref name="hash"/> (1..32 bytes).</summary>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> hash, ReadOnlySpan<byte> key = default)
    {
        using var state = new Blake2s(hash.Length, key);
        state.Update(data);
        state.Finish(hash);
    }

    /// <summary>Returns the state to its initial value (same length and key), ready for a new message.</summary>
    public void Reset()
    {
        IV.CopyTo(_h);
        // Parameter block word 0: digest length, key length, fanout 1, depth 1 (sequential mode).
        _h[0] ^= 0x01010000u ^ ((uint)_keyLength << 8) ^ (uint)HashLength;
        _counter = 0;
        _bufferLength = 0;
        Array.Clear(_buffer);
        if (_keyLength > 0)
        {
            // A keyed hash starts with the key padded to one full block.
            _key.AsSpan(0, _keyLength).CopyTo(_buffer);
            _bufferLength = BlockLength;
        }
    }

    public void Update(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            // The last block must be compressed with the final flag, so a full buffer is only
            // compressed once more input arrives.
            if (_bufferLength == BlockLength)
            {
                _counter += BlockLength;
                Compress(_buffer, isLast: false);
                _bufferLength = 0;
            }

            int take = Math.Min(BlockLength - _bufferLength, data.Length);
            data[..take].CopyTo(_buffer.AsSpan(_bufferLength));
            _bufferLength += take;
            data = data[take..];
        }
    }

    /// <summary>Writes the digest (exactly <see cref="HashLength"/> bytes) and resets the state.</summary>
    public void Finish(Span<byte> hash)
    {
        if (hash.Length != HashLength)
        {
            throw new ArgumentException($"The output must be {HashLength} bytes.", nameof(hash));
        }

        _counter += (ulong)_bufferLength;
        _buffer.AsSpan(_bufferLength).Clear();
        Compress(_buffer, isLast: true);

        Span<byte> full = stackalloc byte[MaxHashLength];
        for (int i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(full[(4 * i)..], _h[i]);
        }

        full[..HashLength].CopyTo(hash);
        CryptographicOperations.ZeroMemory(full);
        Reset();
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_key);
        CryptographicOperations.ZeroMemory(_buffer);
        Array.Clear(_h);
    }

    private void Compress(ReadOnlySpan<byte> block, bool isLast)
    {
        Span<uint> m = stackalloc uint[16];
        for (int i = 0; i < 16; i++)
        {
            m[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(4 * i)..]);
        }

        Span<uint> v = stackalloc uint[16];
        _h.CopyTo(v);
        IV.CopyTo(v[8..]);
        v[12] ^= (uint)_counter;
        v[13] ^= (uint)(_counter >> 32);
        if (isLast)
        {
            v[14] = ~v[14];
        }

        ReadOnlySpan<byte> sigma = Sigma;
        for (int round = 0; round < 10; round++)
        {
            ReadOnlySpan<byte> s = sigma.Slice(16 * round, 16);
            G(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
            G(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
            G(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
            G(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
            G(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
            G(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
            G(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
            G(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
        }

        for (int i = 0; i < 8; i++)
        {
            _h[i] ^= v[i] ^ v[i + 8];
        }

        m.Clear();
        v.Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G(Span<uint> v, int a, int b, int c, int d, uint x, uint y)
    {
        v[a] = v[a] + v[b] + x;
        v[d] = BitOperations.RotateRight(v[d] ^ v[a], 16);
        v[c] = v[c] + v[d];
        v[b] = BitOperations.RotateRight(v[b] ^ v[c], 12);
        v[a] = v[a] + v[b] + y;
        v[d] = BitOperations.RotateRight(v[d] ^ v[a], 8);
        v[c] = v[c] + v[d];
        v[b] = BitOperations.RotateRight(v[b] ^ v[c], 7);
    }
}
