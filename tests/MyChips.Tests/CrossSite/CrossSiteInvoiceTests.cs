using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.CrossSite;

/// <summary>Invoices across sites (PROTOCOL 7.3): pend reaches the payer's site, approve and refuse come back.</summary>
[Collection(CrossSiteCollection.Name)]
public sealed class CrossSiteInvoiceTests(PostgresServer server)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task An_invoice_from_site_A_is_approved_on_site_B_and_a_second_one_refused_and_both_halves_follow()
    {
        await using var siteA = await PeerSite.StartAsync(server, "ia");
        await using var siteB = await PeerSite.StartAsync(server, "ib");
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);

        // alice (stock) invoices bob (foil): A.pend on A; L.pend on B once delivered.
        var paid = Guid.NewGuid();
        var refused = Guid.NewGuid();
        await alice.PostAsync($"/api/tallies/{tally}/invoice", new { uuid = paid, units = 4200, memo = "consulting" });
        await alice.PostAsync($"/api/tallies/{tally}/invoice", new { uuid = refused, units = 99, memo = "too much" });
        async Task<string?> StateAsync(Api.ApiUser user, Guid chit)
        {
            var list = await user.ListAsync($"/api/tallies/{tally}/chits");
            return (string?)list.FirstOrDefault(c => (string?)c!["uuid"] == chit.ToString())?["state"];
        }

        await Wait.UntilAsync(async () => await StateAsync(bob, paid) == "L.pend" && await StateAsync(bob, refused) == "L.pend", Timeout, "both invoices reach bob as L.pend");
        Assert.Equal("A.pend", await StateAsync(alice, paid));

        // bob signs the invoice's core as shown to him, and refuses the other.
        var view = (await bob.ListAsync($"/api/tallies/{tally}/chits")).Single(c => (string?)c!["uuid"] == paid.ToString())!;
        var core = ChitJson.Core(tally, (string)view["by"]!, (string)view["type"]!, paid, ChipTimestamp.Parse((string)view["date"]!), (long?)view["units"], view["ref"], (string?)view["memo"]);
        await bob.PostAsync($"/api/tallies/{tally}/chits/{paid}/approve", new { signature = bob.Sign(ChitJson.SignedBytes(core)) });
        await bob.PostAsync($"/api/tallies/{tally}/chits/{refused}/refuse");
        Assert.Equal("L.good", await StateAsync(bob, paid));
        Assert.Equal("L.void", await StateAsync(bob, refused));

        await Wait.UntilAsync(async () => await StateAsync(alice, paid) == "A.good" && await StateAsync(alice, refused) == "A.void", Timeout, "alice sees one invoice paid, one refused");
        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 1, Timeout);
        await CrossSiteTally.AssertAgreeAsync(siteA.Database, siteB.Database, tally, expectedStockNet: 4200);
        var balance = await alice.GetAsync("/api/balance");
        Assert.Equal(4200, (long)balance["net"]!);
        Assert.Equal(4200, (long)balance["netPending"]!);
    }
}
