using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Tests.Api;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.CrossSite;

/// <summary>
/// Messages from an agent that holds a valid key of its own and means harm (docs/peer-rules.md): each is refused with a
/// reason and writes nothing, whoever it names. Delivered through the site's peer sink, as the transport hands them over.
/// </summary>
[Collection(CrossSiteCollection.Name)]
public sealed class HostilePeerTests(PostgresServer server)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_offer_from_anyone_but_the_partner_cannot_touch_a_half_in_H_offer_P_offer_or_void()
    {
        await using var siteA = await PeerSite.StartAsync(server, "hj");
        using var alice = await siteA.AddUserAsync("alice");
        using var carol = await siteA.AddUserAsync("carol");
        var aAgent = await AgentOfAsync(siteA);
        using var mallory = AgentKey.Generate();
        using var malloryKey = UserSigningKey.Generate(UserKeyCurve.P256);

        // alice (stock) and carol (foil) on site A: alice offers, so alice's half is H.offer and carol's P.offer.
        var draft = await alice.PostAsync("/api/tallies", new { type = "stock", holdTerms = new JsonObject { ["limit"] = 1000 } });
        var tally = Guid.Parse((string)draft["uuid"]!);
        var invitation = await alice.PostAsync($"/api/tallies/{tally}/invite");
        await carol.OkAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"] });
        var pdraft = await alice.GetAsync($"/api/tallies/{tally}");
        await alice.PostAsync($"/api/tallies/{tally}/offer", new { signature = alice.SignTally((JsonObject)pdraft["json"]!) });
        Assert.Equal("P.offer", (string)(await carol.GetAsync($"/api/tallies/{tally}"))["state"]!);

        var n = 0;
        async Task NoHijackAsync(string state)
        {
            var before = await siteA.SnapshotAsync();
            // Addressed to a cuid no half has (the hole: the offer then took whichever half had the named side), to the
            // holder itself, and to the other holder; on each side of the tally.
            foreach (var to in new[] { "nobody", "alice", "carol" })
            {
                foreach (var side in new[] { "stock", "foil" })
                {
                    var offer = ForgedOffer(aAgent, tally, to, side, mallory.Id, malloryKey, $"hj-{++n}");
                    await siteA.AssertRefusedAsync(mallory.Id, offer, "unknown_recipient");
                }
            }

            Assert.Equal(before, await siteA.SnapshotAsync());
            Assert.Equal(state, (string)(await alice.GetAsync($"/api/tallies/{tally}"))["state"]!);
        }

        await NoHijackAsync("H.offer");
        await carol.PostAsync($"/api/tallies/{tally}/refuse");
        await NoHijackAsync("void");
        Assert.Equal("void", (string)(await carol.GetAsync($"/api/tallies/{tally}"))["state"]!);
    }

    [Fact]
    public async Task A_payment_from_the_partner_beyond_the_credit_granted_is_refused_on_the_good_and_the_upd_paths()
    {
        await using var siteA = await PeerSite.StartAsync(server, "la2");
        await using var siteB = await PeerSite.StartAsync(server, "lb2");
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        // alice (stock) grants bob no credit: bob may pay alice only what alice owes him.
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob, stockGrants: 0, foilGrants: 5_000);
        var aAgent = await AgentOfAsync(siteA);
        var bAgent = await AgentOfAsync(siteB);
        var before = await siteA.SnapshotAsync();

        // bob's agent, bob's real signature, 10^12 mCHIPs: as a chit/good ...
        var wire = SignedChit(tally, "foil", 1_000_000_000_000, bob.Key);
        wire["chain"] = new JsonObject { ["cmd"] = "new", ["index"] = 1, ["hash"] = "AAAA", ["conf"] = 0 };
        await siteA.AssertRefusedAsync(bAgent, Envelope("chit", "good", "lim-1", wire, "alice", aAgent, "bob", bAgent), "limit_exceeded");
        // ... and inside a chain upd (the consensus path inserts chits it has not seen).
        var listed = SignedChit(tally, "foil", 1_000_000_000_000, bob.Key);
        listed["chain"] = new JsonObject { ["index"] = 1, ["hash"] = Base64Url.Encode(new byte[32]), ["conf"] = 0 };
        var upd = new JsonObject { ["cmd"] = "upd", ["tally"] = tally.ToString(), ["chits"] = new JsonArray(listed) };
        await siteA.AssertRefusedAsync(bAgent, Envelope("chit", "chain", "lim-2", upd, "alice", aAgent, "bob", bAgent), "limit_exceeded");
        Assert.Equal(before, await siteA.SnapshotAsync());
        Assert.Equal(0, (await siteA.HalfAsync(tally))!.Net);

        // Within the terms it is accepted on the same path: alice pays bob 300 (she may owe him up to 5,000), then bob pays
        // her back exactly that much through his own site.
        await alice.PostAsync($"/api/tallies/{tally}/pay", alice.Payment(tally, "stock", 300));
        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 1, Timeout);
        await bob.PostAsync($"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 300));
        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 2, Timeout);
        await CrossSiteTally.AssertAgreeAsync(siteA.Database, siteB.Database, tally, 0);
    }

    [Fact]
    public async Task Pending_invoices_and_totals_are_bounded_so_no_balance_overflows()
    {
        await using var siteA = await PeerSite.StartAsync(server, "ov");
        await using var siteB = await PeerSite.StartAsync(server, "ow");
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);
        var aAgent = await AgentOfAsync(siteA);
        var bAgent = await AgentOfAsync(siteB);
        JsonObject Invoice(long units, string id)
        {
            var core = ChitJson.Core(tally, "stock", "tran", Guid.NewGuid(), ChipTimestamp.Truncate(DateTimeOffset.UtcNow), units, null, "invoice");
            return Envelope("chit", "pend", id, core, "alice", aAgent, "bob", bAgent);
        }

        // bob's site invoices alice nearly the largest amount there is: accepted; another of the largest amount would take
        // her pending balance past -(2^53-1).
        const long big = ChitAmounts.Max - 200;
        Assert.Equal(PeerDelivery.Accepted, await siteA.DeliverAsync(bAgent, Invoice(big, "ov-1")));
        var before = await siteA.SnapshotAsync();
        await siteA.AssertRefusedAsync(bAgent, Invoice(ChitAmounts.Max, "ov-2"), "total_out_of_range");
        Assert.Equal(before, await siteA.SnapshotAsync());

        // At most 100 pending invoices on a tally.
        for (var i = 0; i < 99; i++)
            Assert.Equal(PeerDelivery.Accepted, await siteA.DeliverAsync(bAgent, Invoice(1, $"ov-s{i}")));
        before = await siteA.SnapshotAsync();
        await siteA.AssertRefusedAsync(bAgent, Invoice(1, "ov-101"), "pending_limit_reached");
        Assert.Equal(before, await siteA.SnapshotAsync());
        var (status, body) = await alice.SendAsync(HttpMethod.Post, $"/api/tallies/{tally}/invoice", new { uuid = Guid.NewGuid(), units = 5 });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("pending_limit_reached", (string)body["error"]!["code"]!);
        Assert.Equal(before, await siteA.SnapshotAsync());

        // The balance adds up exactly.
        var balance = await alice.GetAsync("/api/balance");
        Assert.Equal(-(big + 99), (long)balance["netPending"]!);
        Assert.Equal(0, (long)balance["net"]!);

        // The database backs every bound with a CHECK constraint.
        await using var connection = await siteA.OpenAsync();
        foreach (var sql in new[]
        {
            "UPDATE mychips.tallies SET net = 9007199254740992",
            "UPDATE mychips.tallies SET net_pending = -9007199254740992",
            "UPDATE mychips.tallies SET pending_chits = 101",
            "UPDATE mychips.users SET balance_tallies = 1025",
        })
        {
            var e = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(sql));
            Assert.Equal(PostgresErrorCodes.CheckViolation, e.SqlState);
        }
    }

    [Fact]
    public async Task A_user_holding_the_most_tallies_a_balance_may_span_cannot_open_another()
    {
        await using var site = await PeerSite.StartAsync(server, "tl");
        using var alice = await site.AddUserAsync("alice");
        using var bob = await site.AddUserAsync("bob");
        await using (var connection = await site.OpenAsync())
            await connection.ExecuteAsync("UPDATE mychips.users SET balance_tallies = @max WHERE cuid = 'bob'", new { max = LedgerBounds.MaxBalanceTallies });
        var draft = await alice.PostAsync("/api/tallies", new { type = "stock" });
        var tally = Guid.Parse((string)draft["uuid"]!);
        var invitation = await alice.PostAsync($"/api/tallies/{tally}/invite");
        await bob.OkAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"] });
        var pdraft = await alice.GetAsync($"/api/tallies/{tally}");
        await alice.PostAsync($"/api/tallies/{tally}/offer", new { signature = alice.SignTally((JsonObject)pdraft["json"]!) });
        var offered = await bob.GetAsync($"/api/tallies/{tally}");
        var before = await site.SnapshotAsync();
        var (status, body) = await bob.SendAsync(HttpMethod.Post, $"/api/tallies/{tally}/accept", new { signature = bob.SignTally((JsonObject)offered["json"]!) });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("tally_limit_reached", (string)body["error"]!["code"]!);
        Assert.Equal(before, await site.SnapshotAsync());
    }

    [Fact]
    public async Task Offers_are_validated_like_local_ones_rate_limited_per_agent_and_refused_without_telling_who_exists()
    {
        await using var siteA = await PeerSite.StartAsync(server, "uo", new Dictionary<string, string?> { ["Peer:OfferRate"] = "4" });
        using var alice = await siteA.AddUserAsync("alice");
        using var carol = await siteA.AddUserAsync("carol");
        var localTally = await TallySetup.OpenAsync(alice, carol);
        var aAgent = await AgentOfAsync(siteA);
        using var mallory = AgentKey.Generate();
        using var malloryKey = UserSigningKey.Generate(UserKeyCurve.P256);
        var inbox = siteA.App.Services.GetRequiredService<PeerInbox>();
        var before = await siteA.SnapshotAsync();

        // A stranger's first offers: to an existing user, to no user, and on an existing tally of that user. The reason the
        // stranger is told is the same every time.
        var aliceCert = (JsonObject)(await alice.GetAsync($"/api/tallies/{localTally}"))["json"]!["stock"]!["cert"]!;
        var reasons = new List<string?>();
        foreach (var (to, uuid) in new[] { ("alice", Guid.NewGuid()), ("nobody", Guid.NewGuid()), ("alice", localTally) })
        {
            var offer = CrossSiteBadInputTests.FirstOffer(aAgent, to == "alice" ? aliceCert : Cert(to, aAgent), malloryKey,
                new JsonObject { ["cuid"] = "mal", ["agent"] = mallory.Id }, mallory.Id, $"uo-{reasons.Count}", withAgree: true);
            offer["object"]!["uuid"] = uuid.ToString();
            offer["to"]!["cuid"] = to;
            Resign(offer, malloryKey);
            var result = await inbox.ReceiveAsync(mallory.Id, offer, CancellationToken.None);
            Assert.Equal(PeerInboxOutcome.Rejected, result.Outcome);
            reasons.Add(result.Reason);
        }

        Assert.Equal("unknown_recipient: No tally or invitation between the sender and the addressed user.", Assert.Single(reasons.Distinct()));
        Assert.Equal(before, await siteA.SnapshotAsync());

        // alice redeemed mallory's invitation, so mallory may offer; the offer meets the limits of a local one.
        await CrossSiteBadInputTests.RedeemedAsync(siteA, "alice", "mal", mallory.Id);
        before = await siteA.SnapshotAsync();
        var longMemo = FirstOfferTo(aAgent, aliceCert, mallory.Id, malloryKey, "uo-memo", o => o["memo"] = new string('m', 30_000));
        await siteA.AssertRefusedAsync(mallory.Id, longMemo, "invalid_field: memo");
        var badTerms = FirstOfferTo(aAgent, aliceCert, mallory.Id, malloryKey, "uo-terms", o => o["stock"]!["terms"] = new JsonObject { ["limit"] = -5 });
        await siteA.AssertRefusedAsync(mallory.Id, badTerms, "amount_out_of_range");
        var bigTerms = FirstOfferTo(aAgent, aliceCert, mallory.Id, malloryKey, "uo-big", o => o["foil"]!["terms"] = new JsonObject { ["x"] = new string('t', 5000) });
        await siteA.AssertRefusedAsync(mallory.Id, bigTerms, "invalid_field");
        Assert.Equal(before, await siteA.SnapshotAsync());
        var valid = FirstOfferTo(aAgent, aliceCert, mallory.Id, malloryKey, "uo-ok", _ => { });
        Assert.Equal(PeerDelivery.Accepted, await siteA.DeliverAsync(mallory.Id, valid));
        Assert.Single(await alice.ListAsync("/api/tallies"), t => (string)t!["state"]! == "P.offer");

        // Four offers a minute per agent (this site's setting): that was the fourth of mallory's; the next is not applied and
        // gets no receipt, so an honest sender would try again later.
        before = await siteA.SnapshotAsync();
        var refused = siteA.Refusals.Count;
        var extra = FirstOfferTo(aAgent, aliceCert, mallory.Id, malloryKey, "uo-7", _ => { });
        Assert.Equal(PeerDelivery.Ignored, await siteA.DeliverAsync(mallory.Id, extra));
        Assert.Equal(refused + 1, siteA.Refusals.Count);
        Assert.StartsWith("rate_limited", siteA.Refusals.Recent[^1].Reason);
        Assert.Equal(before, await siteA.SnapshotAsync());
    }

    /// <summary>A first offer to alice from mal at <paramref name="sender"/> (foil, signed with <paramref name="key"/>), edited by <paramref name="edit"/> before signing.</summary>
    private static JsonObject FirstOfferTo(string aAgent, JsonObject aliceCert, string sender, UserSigningKey key, string id, Action<JsonObject> edit)
    {
        var offer = CrossSiteBadInputTests.FirstOffer(aAgent, aliceCert, key, new JsonObject { ["cuid"] = "mal", ["agent"] = sender }, sender, id, withAgree: true);
        edit((JsonObject)offer["object"]!);
        Resign(offer, key);
        return offer;
    }

    private static void Resign(JsonObject offer, UserSigningKey key)
    {
        var wire = (JsonObject)offer["object"]!;
        var core = (JsonObject)wire.DeepClone();
        core.Remove("sign");
        wire["sign"] = new JsonObject { ["foil"] = Base64Url.Encode(key.Sign(TallyJson.SignedBytes(core))) };
    }

    private static JsonObject Cert(string cuid, string agent) => new() { ["chad"] = new JsonObject { ["cuid"] = cuid, ["agent"] = agent } };

    /// <summary>A tally offer from mal at <paramref name="sender"/> that puts <paramref name="to"/> on <paramref name="side"/>.</summary>
    private static JsonObject ForgedOffer(string aAgent, Guid tally, string to, string side, string sender, UserSigningKey key, string id)
    {
        var attacker = new JsonObject { ["chad"] = new JsonObject { ["cuid"] = "mal", ["agent"] = sender }, ["public"] = key.ExportPublicJwk() };
        var other = side == "stock" ? "foil" : "stock";
        var core = new JsonObject
        {
            ["version"] = 1, ["revision"] = 1, ["uuid"] = tally.ToString(), ["date"] = "2026-01-01T00:00:00.000Z", ["memo"] = null,
            ["agree"] = new JsonObject(),
            [side] = new JsonObject { ["cert"] = Cert(to, aAgent), ["terms"] = new JsonObject() },
            [other] = new JsonObject { ["cert"] = attacker, ["terms"] = new JsonObject { ["limit"] = 1_000_000 } },
        };
        var wire = (JsonObject)core.DeepClone();
        wire["sign"] = new JsonObject { [other] = Base64Url.Encode(key.Sign(TallyJson.SignedBytes(core))) };
        return Envelope("tally", "offer", id, wire, to, aAgent, "mal", sender);
    }

    private static JsonObject SignedChit(Guid tally, string by, long units, UserSigningKey key)
    {
        var core = ChitJson.Core(tally, by, "tran", Guid.NewGuid(), ChipTimestamp.Truncate(DateTimeOffset.UtcNow), units, null, "hostile");
        var wire = (JsonObject)core.DeepClone();
        wire["sign"] = Base64Url.Encode(key.Sign(ChitJson.SignedBytes(core)));
        return wire;
    }

    internal static JsonObject Envelope(string target, string action, string id, JsonObject obj, string toCuid, string toAgent, string fromCuid, string fromAgent) => new()
    {
        ["target"] = target, ["action"] = action, ["id"] = id, ["object"] = obj,
        ["to"] = new JsonObject { ["cuid"] = toCuid, ["agent"] = toAgent },
        ["from"] = new JsonObject { ["cuid"] = fromCuid, ["agent"] = fromAgent },
    };

    internal static async Task<string> AgentOfAsync(PeerSite site) =>
        (await site.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;

}
