using System.Text;
using MyChips.Peer.Noise;
using MyChips.Peer.Noise.Primitives;

namespace MyChips.Tests.Noise;

public sealed class Blake2Tests
{
    [Fact]
    public void Blake2s_256_of_abc_matches_RFC7693_appendix_B()
    {
        var hash = new byte[32];
        Blake2s.Hash("abc"u8, hash);
        Assert.Equal("508C5E8C327C14E2E1A72BA34EEB452F37458B209ED63A294D999B4C86675982", Convert.ToHexString(hash));
    }

    [Fact]
    public void Blake2s_self_test_of_RFC7693_appendix_E_gives_the_grand_hash()
    {
        // 4 digest lengths x 6 input lengths, unkeyed and keyed, all fed into one BLAKE2s-256.
        int[] digestLengths = [16, 20, 28, 32];
        int[] inputLengths = [0, 3, 64, 65, 255, 1024];
        using var grand = new Blake2s(32);
        var input = new byte[1024];
        var key = new byte[32];
        var digest = new byte[32];
        foreach (int outLength in digestLengths)
        {
            foreach (int inLength in inputLengths)
            {
                SelfTestSequence(input.AsSpan(0, inLength), (uint)inLength);
                Blake2s.Hash(input.AsSpan(0, inLength), digest.AsSpan(0, outLength));
                grand.Update(digest.AsSpan(0, outLength));

                SelfTestSequence(key.AsSpan(0, outLength), (uint)outLength);
                Blake2s.Hash(input.AsSpan(0, inLength), digest.AsSpan(0, outLength), key.AsSpan(0, outLength));
                grand.Update(digest.AsSpan(0, outLength));
            }
        }

        var result = new byte[32];
        grand.Finish(result);
        Assert.Equal("6A411F08CE25ADCDFB02ABA641451CEC53C598B24F4FC787FBDC88797F4C1DFE", Convert.ToHexString(result));
    }

    [Fact]
    public void Blake2s_gives_the_same_digest_whatever_the_chunking()
    {
        var data = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        var oneShot = new byte[32];
        Blake2s.Hash(data, oneShot);

        foreach (int chunk in new[] { 1, 63, 64, 65, 128 })
        {
            using var state = new Blake2s();
            for (int offset = 0; offset < data.Length; offset += chunk)
            {
                state.Update(data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
            }

            var digest = new byte[32];
            state.Finish(digest);
            Assert.Equal(oneShot, digest);
        }
    }

    [Fact]
    public void Blake2b_512_of_abc_matches_RFC7693_appendix_A()
    {
        using var hash = NoiseHash.Create(NoiseHashFunction.Blake2b);
        var digest = new byte[64];
        hash.Append("abc"u8);
        hash.Finish(digest);
        Assert.Equal(
            "BA80A53F981C4D0D6A2797B69F12F6E94C212F14685AC4B74B12BB6FDBFFA2D1" +
            "7D87C5392AAB792DC252D5DE4533CC9518D38AA8DBF1925AB92386EDD4009923",
            Convert.ToHexString(digest));
    }

    [Fact]
    public void Noise_hmac_matches_RFC4231_test_case_2_for_SHA256()
    {
        using var hash = NoiseHash.Create(NoiseHashFunction.Sha256);
        var mac = new byte[32];
        NoiseKdf.Hmac(hash, "Jefe"u8, Encoding.ASCII.GetBytes("what do ya want "), "for nothing?"u8, mac);
        Assert.Equal("5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", Convert.ToHexString(mac));
    }

    // RFC 7693 appendix E: a deterministic Fibonacci-like byte sequence seeded with the length.
    private static void SelfTestSequence(Span<byte> output, uint seed)
    {
        uint a = 0xDEAD4BADu * seed;
        uint b = 1;
        for (int i = 0; i < output.Length; i++)
        {
            uint t = a + b;
            a = b;
            b = t;
            output[i] = (byte)(t >> 24);
        }
    }
}
