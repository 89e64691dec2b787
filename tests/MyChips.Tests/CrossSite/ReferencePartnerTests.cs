using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.CrossSite;

/// <summary>
/// Our site with a partner that behaves like a reference node (raw mode, no receipts, the reference's context guards):
/// what it refuses stays refused, both halves end equal, and its silence raises no <c>delivery_failed</c>.
/// </summary>
[Collection(CrossSiteCollection.Name)]
public sealed class ReferencePartnerTests(PostgresServer server)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_refused_offer_and_a_refused_invoice_stay_refused_on_both_sides_while_our_side_keeps_re_sending()
    {
        await using var rob = await ReferencePartner.StartAsync();
        // Timers at a tenth of the defaults or less, so the test covers what a minute of re-sending would do: 10 tries,
        // the receipt timeout doubling from 0.2 s up to 1 s between them.
        await using var siteA = await PeerSite.StartAsync(server, "rf", new Dictionary<string, string?>
        {
            [$"Peer:PeerModes:{rob.Node.AgentId}"] = "Raw",
            ["Peer:ReceiptTimeout"] = "00:00:00.200",
            ["Peer:MaxRetryWait"] = "00:00:01",
            ["Peer:MaxTries"] = "10",
        });
        using var alice = await siteA.AddUserAsync("alice", UserKeyCurve.P521); // the reference verifies only P-521
        var site = new PeerAddress(await HostilePeerTests.AgentOfAsync(siteA), "127.0.0.1", siteA.PeerPort);

        // Tally 1: rob redeems alice's invitation, alice offers, rob refuses.
        var refused = await OfferToRobAsync(alice, rob, site);
        await rob.RefuseOfferAsync(refused, site);
        await Wait.UntilAsync(async () => (await siteA.HalfAsync(refused))?.Status == "void", Timeout, "alice's half is void");

        // Tally 2: the same, but rob accepts; then alice invoices rob and rob refuses.
        var open = await OfferToRobAsync(alice, rob, site);
        await rob.AcceptOfferAsync(open, site);
        await Wait.UntilAsync(async () => (await siteA.HalfAsync(open))?.Status == "open", Timeout, "alice's half is open");
        var invoice = Guid.NewGuid();
        await alice.PostAsync($"/api/tallies/{open}/invoice", new { uuid = invoice, units = 77_000, memo = "refused invoice" });
        await Wait.UntilAsync(() => { rob.Apply(); return rob.ChitStates.GetValueOrDefault(invoice) == "L.pend"; }, Timeout, "rob holds the invoice");
        await rob.RefuseInvoiceAsync(invoice, site);
        await Wait.UntilAsync(async () => (string)(await alice.ListAsync($"/api/tallies/{open}/chits"))[0]!["state"]! == "A.void", Timeout, "alice's invoice is A.void");

        // Our side's outbox runs its course: every row to rob is withdrawn (answered) or retired unconfirmed after the
        // try limit; none is given up.
        await using var connection = await siteA.OpenAsync();
        await Wait.UntilAsync(async () => await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM mychips.outbox WHERE sent_at IS NULL AND gave_up_at IS NULL") == 0, Timeout, "the outbox to rob is settled");
        rob.Apply();

        // Both halves agree: tally 1 void, tally 2 open with the invoice refused and no balance.
        Assert.Equal("void", rob.TallyStates[refused]);
        Assert.Equal("void", (string)(await alice.GetAsync($"/api/tallies/{refused}"))["state"]!);
        Assert.Equal("open", rob.TallyStates[open]);
        var half = (await siteA.HalfAsync(open))!;
        Assert.Equal(("open", 0L, 0, 0L), (half.Status, half.Net, half.ChainLast, half.Good));
        Assert.Equal("L.void", rob.ChitStates[invoice]);
        Assert.Equal("A.void", (string)Assert.Single(await alice.ListAsync($"/api/tallies/{open}/chits"))!["state"]!);

        // Nothing asked rob twice for what he had answered: one offer per tally, one invoice.
        Assert.Single(rob.Received, m => (string?)m["action"] == "offer" && (string?)m["object"]!["uuid"] == refused.ToString());
        Assert.Single(rob.Received, m => (string?)m["action"] == "pend");
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM mychips.outbox WHERE gave_up_at IS NOT NULL"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM mychips.user_events WHERE events::text LIKE '%delivery_failed%'"));
        Assert.True(await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM mychips.outbox WHERE settled_by = 'unconfirmed'") >= 1,
            "alice's chain ack 0, which the reference never answers, was retired without a failure");

        // A message for a record in a state that cannot take it is not dropped silently: the result names both states
        // (and the peer sink logs it as a warning).
        var inbox = siteA.App.Services.GetRequiredService<PeerInbox>();
        var late = new JsonObject
        {
            ["target"] = "tally", ["action"] = "draft", ["to"] = new JsonObject { ["cuid"] = "alice", ["agent"] = site.Agent },
            ["from"] = rob.Chad.DeepClone(), ["object"] = (await alice.GetAsync($"/api/tallies/{open}"))["json"]!.DeepClone(),
        };
        var result = await inbox.ReceiveAsync(rob.Node.AgentId, late, CancellationToken.None);
        Assert.Equal(PeerInboxOutcome.Applied, result.Outcome);
        var note = Assert.Single(result.Notes!);
        Assert.Contains("our half is open, not H.offer", note);
    }

    /// <summary>alice drafts and invites, rob redeems (a ticket over raw I), alice offers; returns once rob holds the offer.</summary>
    private static async Task<Guid> OfferToRobAsync(Api.ApiUser alice, ReferencePartner rob, PeerAddress site)
    {
        var draft = await alice.PostAsync("/api/tallies", new { type = "stock", holdTerms = new JsonObject { ["limit"] = 0 }, partTerms = new JsonObject { ["limit"] = 1_000_000 } });
        var tally = Guid.Parse((string)draft["uuid"]!);
        var invitation = await alice.PostAsync($"/api/tallies/{tally}/invite");
        await rob.RedeemAsync(invitation, site);
        await Wait.UntilAsync(async () => (string)(await alice.GetAsync($"/api/tallies/{tally}"))["state"]! == "P.draft", Timeout, "alice's draft has rob's certificate");
        var pdraft = await alice.GetAsync($"/api/tallies/{tally}");
        await alice.PostAsync($"/api/tallies/{tally}/offer", new { signature = alice.SignTally((JsonObject)pdraft["json"]!) });
        await Wait.UntilAsync(() => { rob.Apply(); return rob.TallyStates.GetValueOrDefault(tally) == "P.offer"; }, Timeout, "rob holds alice's offer");
        return tally;
    }
}
