using MyChips.Data.Upgrade;

namespace MyChips.Tests.Upgrade;

public sealed class DrainRequestTests
{
    [Fact]
    public void A_request_for_one_instance_round_trips_through_its_payload_and_matches_only_that_instance()
    {
        var id = Guid.NewGuid();
        var parsed = DrainRequest.TryParse(DrainRequest.ForInstance(id, "operator").ToPayload());

        Assert.Equal(DrainRequest.ForInstance(id, "operator"), parsed);
        Assert.True(parsed!.Matches(id, 100));
        Assert.False(parsed.Matches(Guid.NewGuid(), 1));
    }

    [Fact]
    public void A_request_for_older_code_matches_only_instances_below_the_version()
    {
        var parsed = DrainRequest.TryParse(DrainRequest.ForOlderThan(102, "contract migration 0102_x.sql by leader").ToPayload());

        Assert.Equal("contract migration 0102_x.sql by leader", parsed!.Reason);
        Assert.True(parsed.Matches(Guid.NewGuid(), 101));
        Assert.False(parsed.Matches(Guid.NewGuid(), 102));
    }

    [Theory]
    [InlineData("")]
    [InlineData("everyone")]
    [InlineData("instance:not-a-guid")]
    [InlineData("older-than:-1")]
    public void A_malformed_payload_is_ignored(string payload) => Assert.Null(DrainRequest.TryParse(payload));
}
