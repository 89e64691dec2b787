using System.Collections.Concurrent;
using System.Diagnostics;
using Dapper;
using MyChips.Tests.Api;
using MyChips.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MyChips.Tests.CrossSite;

/// <summary>A site stopped during traffic and started again on its database and ports: nothing lost, nothing twice.</summary>
[Collection(CrossSiteCollection.Name)]
public sealed class CrossSiteRestartTests(PostgresServer server, ITestOutputHelper output)
{
    [Fact]
    public async Task Stopping_site_B_during_payments_and_restarting_it_delivers_every_payment_exactly_once_and_the_chains_agree()
    {
        var clock = Stopwatch.StartNew();
        await using var siteA = await PeerSite.StartAsync(server, "ra");
        await using var siteB = await PeerSite.StartAsync(server, "rb");
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);
        var paid = new ConcurrentDictionary<Guid, long>();

        async Task PayAsync(ApiUser payer, string side, int count, int from)
        {
            for (var i = 0; i < count; i++)
            {
                var units = 10 + from + i;
                var payment = payer.Payment(tally, side, units);
                var body = await payer.PostAsync($"/api/tallies/{tally}/pay", payment);
                paid[Guid.Parse((string)body["uuid"]!)] = side == "stock" ? -units : units;
            }
        }

        // Both pay; B is stopped while A's payments and both sites' chain replies are in flight.
        var aliceStream = PayAsync(alice, "stock", 100, 0);
        await PayAsync(bob, "foil", 20, 1000);
        await Wait.UntilAsync(() => paid.Count >= 40, TimeSpan.FromSeconds(30), "alice has paid about 20 times");
        await siteB.StopAsync();
        output.WriteLine($"B stopped after {clock.ElapsedMilliseconds} ms with {paid.Count} payments issued");
        await aliceStream; // the rest of alice's payments go to the outbox while B is down
        // A keeps them and tries again while B is down: at least one message goes out a second time without a receipt.
        await Wait.UntilAsync(async () =>
        {
            await using var a = await siteA.OpenAsync();
            return await a.ExecuteScalarAsync<long>("SELECT count(*) FROM mychips.outbox WHERE sent_at IS NULL AND gave_up_at IS NULL AND attempts >= 2") > 0;
        }, TimeSpan.FromSeconds(20), "site A has re-sent an unreceipted message while B is down");

        await siteB.StartAsync();
        output.WriteLine($"B restarted after {clock.ElapsedMilliseconds} ms");
        await PayAsync(bob, "foil", 20, 2000);
        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 140, TimeSpan.FromSeconds(60));
        output.WriteLine($"converged after {clock.ElapsedMilliseconds} ms");
        await using (var b = await siteB.OpenAsync())
            output.WriteLine($"the foil sent {await b.ExecuteScalarAsync<long>("SELECT count(*) FROM mychips.outbox WHERE message #>> '{object,more}' = 'true'")} partial upd messages");

        Assert.Equal(140, paid.Count);
        foreach (var site in new[] { siteA, siteB })
        {
            await using var connection = await site.OpenAsync();
            var chits = (await connection.QueryAsync<(Guid Uuid, string By, long Units)>(
                "SELECT c.chit_uuid, c.issuer, c.units FROM mychips.chits c JOIN mychips.tallies t USING (tally_id) WHERE t.tally_uuid = @tally AND c.status = 'good'",
                new { tally })).ToList();
            Assert.Equal(140, chits.Count);
            Assert.Equal(paid.Keys.Order(), chits.Select(c => c.Uuid).Order());
            Assert.Equal(paid.Values.Sum(), chits.Sum(c => c.By == "stock" ? -c.Units : c.Units));
        }

        await CrossSiteTally.AssertAgreeAsync(siteA.Database, siteB.Database, tally, expectedStockNet: paid.Values.Sum());
        await using (var a = await siteA.OpenAsync())
            Assert.Equal(0, await a.ExecuteScalarAsync<long>("SELECT count(*) FROM mychips.outbox WHERE gave_up_at IS NOT NULL"));
    }
}
