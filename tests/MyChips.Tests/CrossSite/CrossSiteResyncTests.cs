using Dapper;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.CrossSite;

/// <summary>The safety net of chain consensus: confirmations lost for good are recovered without new traffic.</summary>
[Collection(CrossSiteCollection.Name)]
public sealed class CrossSiteResyncTests(PostgresServer server)
{
    [Fact]
    public async Task A_chain_left_unconfirmed_with_nothing_in_flight_is_confirmed_again_by_a_resync()
    {
        var quick = new Dictionary<string, string?> { ["Peer:ChainResyncAfter"] = "00:00:01" };
        await using var siteA = await PeerSite.StartAsync(server, "sa", quick);
        await using var siteB = await PeerSite.StartAsync(server, "sb", quick);
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);
        for (var i = 0; i < 3; i++)
        {
            await alice.PostAsync($"/api/tallies/{tally}/pay", alice.Payment(tally, "stock", 10 + i));
            await bob.PostAsync($"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 20 + i));
        }

        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 6, TimeSpan.FromSeconds(20));

        // As if the last acks had been lost on both sides (chain_conf is otherwise never lowered).
        foreach (var site in new[] { siteA, siteB })
        {
            await using var connection = await site.OpenAsync();
            await connection.ExecuteAsync("UPDATE mychips.tallies SET chain_conf = 2, updated_at = now() - interval '1 hour' WHERE tally_uuid = @tally", new { tally });
        }

        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 6, TimeSpan.FromSeconds(20));
        await CrossSiteTally.AssertAgreeAsync(siteA.Database, siteB.Database, tally, expectedStockNet: (20 + 21 + 22) - (10 + 11 + 12));
        await using var foil = await siteB.OpenAsync();
        Assert.True(await foil.ExecuteScalarAsync<long>("SELECT count(*) FROM mychips.outbox WHERE message #>> '{object,sync}' IS NOT NULL") > 0);
    }
}
