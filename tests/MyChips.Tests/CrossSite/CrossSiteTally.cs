using System.Text.Json.Nodes;
using MyChips.Tests.Api;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.CrossSite;

/// <summary>Drives a tally between users of two sites as their apps would, waiting for the peer traffic between steps.</summary>
public static class CrossSiteTally
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <paramref name="stock"/> (on <paramref name="stockSite"/>) drafts and invites; <paramref name="foil"/> redeems on
    /// its own site (ticket over IK); stock offers, foil accepts; returns once both halves are open and confirmed at 0.
    /// </summary>
    public static async Task<Guid> OpenAsync(SiteDatabase stockSite, ApiUser stock, SiteDatabase foilSite, ApiUser foil,
        long stockGrants = 100_000_000, long foilGrants = 100_000_000)
    {
        var draft = await stock.PostAsync("/api/tallies", new
        {
            type = "stock", memo = "cross-site tally",
            holdTerms = new JsonObject { ["limit"] = stockGrants, ["call"] = 30 },
            partTerms = new JsonObject { ["limit"] = foilGrants },
        });
        var tally = Guid.Parse((string)draft["uuid"]!);
        var invitation = await stock.PostAsync($"/api/tallies/{tally}/invite");
        var redeemed = await foil.PostAsync("/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"] });
        _ = redeemed;
        await Wait.UntilAsync(async () => (await stockSite.HalfAsync(tally))?.Status == "draft" && (string)(await stock.GetAsync($"/api/tallies/{tally}"))["state"]! == "P.draft",
            StepTimeout, "the inviter's half has the redeemer's certificate (P.draft)");
        var pdraft = await stock.GetAsync($"/api/tallies/{tally}");
        await stock.PostAsync($"/api/tallies/{tally}/offer", new { signature = stock.SignTally((JsonObject)pdraft["json"]!) });
        await Wait.UntilAsync(async () => (await foilSite.HalfAsync(tally))?.Status == "offer", StepTimeout, "the offer reached the foil's site (P.offer)");
        var offered = await foil.GetAsync($"/api/tallies/{tally}");
        Assert.Equal("P.offer", (string)offered["state"]!);
        var open = await foil.PostAsync($"/api/tallies/{tally}/accept", new { signature = foil.SignTally((JsonObject)offered["json"]!) });
        Assert.Equal("open", (string)open["state"]!);
        await Wait.UntilAsync(async () => (await stockSite.HalfAsync(tally))?.Status == "open" && (await foilSite.HalfAsync(tally))?.ChainConf == 0,
            StepTimeout, "both halves are open and the acceptor has the offerer's ack(0)");
        return tally;
    }

    /// <summary>Waits until both halves hold <paramref name="chits"/> good chits, all linked, confirmed to the end, with equal heads.</summary>
    public static Task ConvergedAsync(SiteDatabase a, SiteDatabase b, Guid tally, int chits, TimeSpan timeout) =>
        Wait.UntilAsync(async () =>
        {
            var x = await a.HalfAsync(tally);
            var y = await b.HalfAsync(tally);
            return x is not null && y is not null && x.Good == chits && y.Good == chits && x.Unlinked == 0 && y.Unlinked == 0
                && x.ChainLast == chits && y.ChainLast == chits && x.ChainConf == chits && y.ChainConf == chits
                && x.ChainHash!.AsSpan().SequenceEqual(y.ChainHash);
        }, timeout, $"both halves hold {chits} linked chits with equal, fully confirmed chains");

    /// <summary>Both chains verify from the stored rows and agree block by block; the balances are equal and opposite.</summary>
    public static async Task AssertAgreeAsync(SiteDatabase a, SiteDatabase b, Guid tally, long expectedStockNet)
    {
        var x = (await a.HalfAsync(tally))!;
        var y = (await b.HalfAsync(tally))!;
        Assert.Equal(0, x.Net + y.Net);
        Assert.Equal(expectedStockNet, x.Type == "stock" ? x.Net : y.Net);
        var va = await a.VerifyChainAsync(tally, x.Type);
        var vb = await b.VerifyChainAsync(tally, y.Type);
        Assert.True(va.Valid, va.Problem);
        Assert.True(vb.Valid, vb.Problem);
        var ca = await a.ChainAsync(tally);
        var cb = await b.ChainAsync(tally);
        Assert.Equal(ca.Count, cb.Count);
        for (var i = 0; i < ca.Count; i++)
        {
            Assert.Equal(i + 1, ca[i].Index);
            Assert.Equal(ca[i].Chit, cb[i].Chit);
            Assert.Equal(ca[i].Hash, cb[i].Hash);
        }
    }
}
