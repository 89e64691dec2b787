using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

public sealed class Base64UrlTests
{
    private static readonly byte[] Sample = [0xfb, 0xff, 0xbf, 0x00, 0x10];

    [Fact]
    public void EncodesUnpaddedUrlAlphabet() => Assert.Equal("-_-_ABA", Base64Url.Encode(Sample));

    [Theory]
    [InlineData("-_-_ABA")]
    [InlineData("-_-_ABA=")]
    [InlineData("+/+/ABA")]
    [InlineData("+/+/ABA=")]
    [InlineData("-/+_ABA")]
    public void DecodesPaddedAndStandardAlphabet(string text) => Assert.Equal(Sample, Base64Url.Decode(text));

    [Theory]
    [InlineData("-_-_AB!")]
    [InlineData("A")]
    [InlineData("-_-_ABA==")]
    public void RejectsMalformed(string text)
    {
        Assert.False(Base64Url.TryDecode(text, out _));
        Assert.Throws<FormatException>(() => Base64Url.Decode(text));
    }

    [Fact]
    public void FixedLengthDecodeChecksLength()
    {
        Span<byte> five = stackalloc byte[5];
        Span<byte> four = stackalloc byte[4];
        Assert.True(Base64Url.TryDecode("-_-_ABA", five));
        Assert.False(Base64Url.TryDecode("-_-_ABA", four));
    }

    [Fact]
    public void RoundTripsAllLengths()
    {
        var data = new byte[70];
        Random.Shared.NextBytes(data);
        for (int n = 0; n <= data.Length; n++)
        {
            string text = Base64Url.Encode(data.AsSpan(0, n));
            Assert.DoesNotContain('=', text);
            Assert.Equal(data[..n], Base64Url.Decode(text));
        }
    }
}
