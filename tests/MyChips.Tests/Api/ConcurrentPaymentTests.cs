using Dapper;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>Both partners paying on one tally at once: no deadlock, no lost update, identical chains; tampering shows.</summary>
[Collection(UserApiCollection.Name)]
public sealed class ConcurrentPaymentTests(PostgresServer server)
{
    [Fact]
    public async Task Concurrent_payments_in_both_directions_keep_both_halves_and_chains_identical_and_a_changed_row_breaks_the_chain()
    {
        await using var site = await ApiSite.StartAsync(server, "concurrent");
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");
        var tally = await TallySetup.OpenAsync(adam, bob);

        async Task PayManyAsync(ApiUser payer, string side, int count)
        {
            for (var i = 0; i < count; i++)
                await payer.PostAsync($"/api/tallies/{tally}/pay", payer.Payment(tally, side, 10 + i));
        }

        // Four streams at once: two per side, so both halves are locked from both ends all the time.
        await Task.WhenAll(PayManyAsync(adam, "stock", 40), PayManyAsync(adam, "stock", 40), PayManyAsync(bob, "foil", 40), PayManyAsync(bob, "foil", 40));

        var a = await adam.GetAsync($"/api/tallies/{tally}");
        var b = await bob.GetAsync($"/api/tallies/{tally}");
        Assert.Equal(0, (long)a["net"]! + (long)b["net"]!);
        Assert.Equal(0L, (long)a["net"]!); // the same amounts went each way
        Assert.Equal(160, (int)a["chainIndex"]!);
        var stock = await site.VerifyChainAsync(tally, "stock");
        var foil = await site.VerifyChainAsync(tally, "foil");
        Assert.True(stock.Valid, stock.Problem);
        Assert.True(foil.Valid, foil.Problem);
        Assert.Equal(stock.Head, foil.Head);

        await using (var connection = await site.OpenAsync())
        {
            await connection.ExecuteAsync(
                "UPDATE mychips.chits SET units = units + 1 WHERE chain_idx = 70 AND tally_id = (SELECT tally_id FROM mychips.tallies WHERE tally_uuid = @tally AND tally_type = 'foil')",
                new { tally });
        }

        var broken = await site.VerifyChainAsync(tally, "foil");
        Assert.False(broken.Valid);
        Assert.StartsWith("block 70:", broken.Problem);
        var api = await bob.GetAsync($"/api/tallies/{tally}/chain");
        Assert.False((bool)api["valid"]!);
    }
}
