using System.Diagnostics;
using Dapper;
using MyChips.Tests.Api;
using MyChips.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MyChips.Tests.CrossSite;

/// <summary>Two sites, real TCP on loopback with Noise: invitation across sites, then payments both ways, crossing.</summary>
[Collection(CrossSiteCollection.Name)]
public sealed class CrossSiteTallyTests(PostgresServer server, ITestOutputHelper output)
{
    [Fact]
    public async Task A_user_invites_a_user_of_another_site_and_200_payments_both_ways_leave_equal_opposite_balances_and_identical_confirmed_chains()
    {
        var clock = Stopwatch.StartNew();
        await using var siteA = await PeerSite.StartAsync(server, "xa");
        await using var siteB = await PeerSite.StartAsync(server, "xb");
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);
        output.WriteLine($"tally open after {clock.ElapsedMilliseconds} ms");

        // Two streams per user at once: the two sites link their own payments while the partner's are in flight, so
        // most chits cross and the chains must be reconciled (the foil orders, the stock conforms).
        long aliceSent = 0, bobSent = 0;
        async Task PayAsync(ApiUser payer, string side, int count, int seed)
        {
            for (var i = 0; i < count; i++)
            {
                var units = 1 + ((seed * 7919 + i * 104729) % 5000);
                await payer.PostAsync($"/api/tallies/{tally}/pay", payer.Payment(tally, side, units));
                if (side == "stock")
                    Interlocked.Add(ref aliceSent, units);
                else
                    Interlocked.Add(ref bobSent, units);
            }
        }

        await Task.WhenAll(PayAsync(alice, "stock", 50, 1), PayAsync(alice, "stock", 50, 2), PayAsync(bob, "foil", 50, 3), PayAsync(bob, "foil", 50, 4));
        output.WriteLine($"200 payments issued after {clock.ElapsedMilliseconds} ms");
        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 200, TimeSpan.FromSeconds(60));
        output.WriteLine($"converged after {clock.ElapsedMilliseconds} ms");
        await CrossSiteTally.AssertAgreeAsync(siteA.Database, siteB.Database, tally, expectedStockNet: bobSent - aliceSent);
        Assert.Equal(0, siteA.Refusals.Count + siteB.Refusals.Count);

        // Payments crossed (each site linked its own before the partner's arrived): the foil sent its order and the
        // stock conformed; that is what the agreement above rests on.
        await using var foil = await siteB.OpenAsync();
        var updates = await foil.ExecuteScalarAsync<long>("SELECT count(*) FROM mychips.outbox WHERE message #>> '{object,cmd}' = 'upd'");
        output.WriteLine($"the foil sent {updates} upd messages");
        Assert.True(updates > 0, "no payments crossed: the test did not exercise reconciliation");

        // Operators see the delivery: every message site A sent was confirmed by a receipt, none given up.
        using var http = new HttpClient { BaseAddress = siteA.BaseAddress };
        var metrics = await http.GetStringAsync("/metrics");
        long Metric(string name) => long.Parse(metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..],
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Metric("mychips_peer_messages_delivered_total") >= 200, metrics);
        Assert.Equal(0, Metric("mychips_peer_messages_given_up_total"));
        Assert.Equal(0, Metric("mychips_peer_inbound_refused_total"));
    }
}
