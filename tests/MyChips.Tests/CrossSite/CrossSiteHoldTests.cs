using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Server.Hosting;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.CrossSite;

/// <summary>Peer traffic passes the upgrade hold gate: held while a site holds, not applied past the hold timeout, re-sent and applied once after.</summary>
[Collection(CrossSiteCollection.Name)]
public sealed class CrossSiteHoldTests(PostgresServer server)
{
    [Fact]
    public async Task Payments_to_a_holding_site_wait_at_its_gate_time_out_unapplied_and_land_exactly_once_when_it_serves()
    {
        await using var siteA = await PeerSite.StartAsync(server, "ha");
        await using var siteB = await PeerSite.StartAsync(server, "hb", new Dictionary<string, string?> { ["Upgrade:HoldTimeout"] = "00:00:01" });
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);

        // B holds, as during a schema upgrade: its peer listener keeps accepting, but packets wait in the gate.
        var status = siteB.App.Services.GetRequiredService<InstanceStatus>();
        status.Set(InstanceState.Holding, "test: upgrading");
        for (var i = 0; i < 5; i++)
            await alice.PostAsync($"/api/tallies/{tally}/pay", alice.Payment(tally, "stock", 100 + i));

        // Held past B's hold timeout (1 s): not applied, no receipt, so A sends them again.
        await Wait.UntilAsync(async () =>
        {
            await using var a = await siteA.OpenAsync();
            return await a.ExecuteScalarAsync<long>("SELECT count(*) FROM mychips.outbox WHERE sent_at IS NULL AND attempts >= 2") > 0;
        }, TimeSpan.FromSeconds(20), "site A re-sends what B held past its hold timeout");
        Assert.Equal(0, (await siteB.HalfAsync(tally))!.Good);

        status.Set(InstanceState.Serving);
        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 5, TimeSpan.FromSeconds(30));
        await CrossSiteTally.AssertAgreeAsync(siteA.Database, siteB.Database, tally, expectedStockNet: -(100 + 101 + 102 + 103 + 104));
    }
}
