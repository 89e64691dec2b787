using MyChips.Data.Crypto;

namespace MyChips.Tests.Crypto;

public sealed class ChipTimestampTests
{
    [Fact]
    public void FormatsUtcWithThreeDigitsAndTruncates()
    {
        var t = new DateTimeOffset(2025, 3, 3, 5, 0, 0, TimeSpan.FromHours(-7)).AddTicks(1_239_999); // .1239999 s
        Assert.Equal("2025-03-03T12:00:00.123Z", ChipTimestamp.ToText(t));
        Assert.Equal("2025-03-03T12:00:00.000Z", ChipTimestamp.ToText(new DateTimeOffset(2025, 3, 3, 12, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void TruncateDropsSubMillisecondTicks()
    {
        var t = new DateTimeOffset(2025, 1, 1, 0, 0, 0, 999, TimeSpan.FromHours(2)).AddTicks(9_999);
        var truncated = ChipTimestamp.Truncate(t);
        Assert.Equal(TimeSpan.Zero, truncated.Offset);
        Assert.Equal(0, truncated.Ticks % TimeSpan.TicksPerMillisecond);
        Assert.Equal(new DateTimeOffset(2024, 12, 31, 22, 0, 0, 999, TimeSpan.Zero), truncated);
    }

    [Fact]
    public void ParsesItsOwnFormRoundTrip()
    {
        var t = ChipTimestamp.Parse("2025-03-03T12:00:00.120Z");
        Assert.Equal(new DateTimeOffset(2025, 3, 3, 12, 0, 0, 120, TimeSpan.Zero), t);
        Assert.Equal(TimeSpan.Zero, t.Offset);
        Assert.Equal("2025-03-03T12:00:00.120Z", ChipTimestamp.ToText(t));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2025-03-03T12:00:00.12Z")]
    [InlineData("2025-03-03T12:00:00.1234Z")]
    [InlineData("2025-03-03T12:00:00Z")]
    [InlineData("2025-03-03T12:00:00.123+00:00")]
    [InlineData("2025-03-03 12:00:00.123Z")]
    [InlineData("2025-03-03T12:00:00.123z")]
    [InlineData(" 2025-03-03T12:00:00.123Z")]
    [InlineData("2025-02-30T12:00:00.123Z")]
    [InlineData("2025-03-03T24:00:00.123Z")]
    [InlineData("2025-03-03T12:00:00.1٢3Z")]
    public void RejectsOtherForms(string? text) => Assert.False(ChipTimestamp.TryParse(text, out _));
}
