using System.Security.Cryptography;

namespace MyChips.Peer.Noise.Primitives;

/// <summary>
/// HMAC and HKDF exactly as the Noise spec defines them (§4.3), generic over the hash's BLOCKLEN
/// so that BLAKE2 is used through HMAC rather than through its own key parameter.
/// </summary>
internal static class NoiseKdf
{
    /// <summary>HMAC-HASH(key, data1 ‖ data2) into <paramref name="output"/> (HASHLEN bytes).</summary>
    public static void Hmac(NoiseHash hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data1, ReadOnlySpan<byte> data2, Span<byte> output)
    {
        Span<byte> pad = stackalloc byte[NoiseHash.MaxBlockLength];
        Span<byte> inner = stackalloc byte[NoiseHash.MaxHashLength];
        pad = pad[..hash.BlockLength];
        inner = inner[..hash.HashLength];
        pad.Clear();

        if (key.Length > hash.BlockLength)
        {
            hash.Append(key);
            hash.Finish(pad[..hash.HashLength]);
        }
        else
        {
            key.CopyTo(pad);
        }

        Xor(pad, 0x36);
        hash.Append(pad);
        hash.Append(data1);
        hash.Append(data2);
        hash.Finish(inner);

        Xor(pad, 0x36 ^ 0x5C);
        hash.Append(pad);
        hash.Append(inner);
        hash.Finish(output[..hash.HashLength]);

        CryptographicOperations.ZeroMemory(pad);
        CryptographicOperations.ZeroMemory(inner);
    }

    /// <summary>
    /// HKDF(chainingKey, inputKeyMaterial) with two or three outputs of HASHLEN bytes each.
    /// Outputs may alias <paramref name="chainingKey"/>: it is consumed before any output is written.
    /// </summary>
    public static void Hkdf(
        NoiseHash hash,
        ReadOnlySpan<byte> chainingKey,
        ReadOnlySpan<byte> inputKeyMaterial,
        Span<byte> output1,
        Span<byte> output2,
        Span<byte> output3 = default)
    {
        int hashLength = hash.HashLength;
        Span<byte> tempKey = stackalloc byte[NoiseHash.MaxHashLength];
        tempKey = tempKey[..hashLength];
        Span<byte> counter = stackalloc byte[1];

        Hmac(hash, chainingKey, inputKeyMaterial, default, tempKey);

        counter[0] = 1;
        Hmac(hash, tempKey, counter, default, output1);
        counter[0] = 2;
        Hmac(hash, tempKey, output1[..hashLength], counter, output2);
        if (!output3.IsEmpty)
        {
            counter[0] = 3;
            Hmac(hash, tempKey, output2[..hashLength], counter, output3);
        }

        CryptographicOperations.ZeroMemory(tempKey);
    }

    private static void Xor(Span<byte> buffer, byte value)
    {
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] ^= value;
        }
    }
}
