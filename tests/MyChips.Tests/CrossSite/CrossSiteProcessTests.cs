using System.Collections.Concurrent;
using Dapper;
using MyChips.Tests.Api;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.CrossSite;

/// <summary>The production wiring end to end: two <c>mychips serve</c> processes, users made with the CLI, one killed mid-traffic.</summary>
[Collection(CrossSiteCollection.Name)]
public sealed class CrossSiteProcessTests(PostgresServer server)
{
    [Fact]
    public async Task Two_mychips_processes_keep_a_tally_in_step_when_one_is_killed_mid_traffic_and_restarted()
    {
        await using var siteA = await ProcessSite.CreateAsync(server, "pa");
        await using var siteB = await ProcessSite.CreateAsync(server, "pb");
        var startA = siteA.StartAsync();
        await siteB.StartAsync();
        await startA;
        // Users made with the CLI next to the running server; their certificates carry the server's peer address.
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);

        var paid = new ConcurrentDictionary<Guid, long>();
        async Task PayAsync(ApiUser payer, string side, int count, int from)
        {
            for (var i = 0; i < count; i++)
            {
                var units = 10 + from + i;
                var body = await payer.PostAsync($"/api/tallies/{tally}/pay", payer.Payment(tally, side, units));
                paid[Guid.Parse((string)body["uuid"]!)] = side == "stock" ? -units : units;
            }
        }

        var aliceStream = PayAsync(alice, "stock", 40, 0);
        await PayAsync(bob, "foil", 10, 1000);
        await Wait.UntilAsync(() => paid.Count >= 25, TimeSpan.FromSeconds(30), "payments are flowing both ways");
        await siteB.KillAsync();
        await aliceStream;
        await siteB.StartAsync();
        await PayAsync(bob, "foil", 10, 2000);

        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 60, TimeSpan.FromSeconds(60));
        foreach (var database in new[] { siteA.Database, siteB.Database })
        {
            await using var connection = await database.OpenAsync();
            var chits = (await connection.QueryAsync<(Guid Uuid, string By, long Units)>(
                "SELECT c.chit_uuid, c.issuer, c.units FROM mychips.chits c JOIN mychips.tallies t USING (tally_id) WHERE t.tally_uuid = @tally AND c.status = 'good'",
                new { tally })).ToList();
            Assert.Equal(paid.Keys.Order(), chits.Select(c => c.Uuid).Order());
            Assert.Equal(paid.Values.Sum(), chits.Sum(c => c.By == "stock" ? -c.Units : c.Units));
        }

        await CrossSiteTally.AssertAgreeAsync(siteA.Database, siteB.Database, tally, expectedStockNet: paid.Values.Sum());
    }
}
