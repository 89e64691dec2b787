using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Tests.Api;
using MyChips.Tests.Infrastructure;
using MyChips.Tests.Peer;

namespace MyChips.Tests.CrossSite;

/// <summary>
/// Bad input from peers reaching site A over real Noise connections: another agent posing as the partner, a spoofed
/// <c>from.agent</c>, a chit with a bad signature, a message for an unknown tally, a duplicate message id, a ticket
/// with a token A never issued. Each is
/// refused or ignored with a logged reason, site A's database is unchanged, and A keeps serving.
/// </summary>
[Collection(CrossSiteCollection.Name)]
public sealed class CrossSiteBadInputTests(PostgresServer server)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Spoofed_senders_bad_signatures_unknown_tallies_duplicate_ids_and_unknown_tickets_change_nothing_and_are_logged_with_a_reason()
    {
        await using var siteA = await PeerSite.StartAsync(server, "ba");
        await using var siteB = await PeerSite.StartAsync(server, "bb");
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);
        await bob.PostAsync($"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 500));
        await alice.PostAsync($"/api/tallies/{tally}/pay", alice.Payment(tally, "stock", 200));
        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 2, Timeout);

        // Site B goes away; its agent key now sits in a bare transport node (a compromised or buggy partner agent).
        byte[] bSeed;
        await using (var b = await siteB.OpenAsync())
            bSeed = await b.ExecuteScalarAsync<byte[]>("SELECT seed FROM mychips.agent_keys") ?? throw new InvalidOperationException("no agent key");
        await siteB.StopAsync();
        await using var partner = await PeerNode.StartAsync(bSeed);
        await using var mallory = await PeerNode.StartAsync();
        var aAgent = (await siteA.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        var to = new PeerAddress(aAgent, "127.0.0.1", siteA.PeerPort);
        JsonObject Good(string id, Guid? onTally = null, UserSigningKey? signer = null, Guid? chit = null)
        {
            var core = ChitJson.Core(onTally ?? tally, "foil", "tran", chit ?? Guid.NewGuid(), ChipTimestamp.Truncate(DateTimeOffset.UtcNow), 700, null, "x-site");
            var wire = (JsonObject)core.DeepClone();
            wire["sign"] = Base64Url.Encode((signer ?? bob.Key).Sign(ChitJson.SignedBytes(core)));
            wire["chain"] = new JsonObject { ["cmd"] = "new", ["index"] = 3, ["hash"] = "AAAA", ["conf"] = 2 };
            return new JsonObject
            {
                ["target"] = "chit", ["action"] = "good", ["id"] = id, ["object"] = wire,
                ["to"] = new JsonObject { ["cuid"] = "alice", ["agent"] = aAgent, ["host"] = "127.0.0.1", ["port"] = siteA.PeerPort },
                ["from"] = new JsonObject { ["cuid"] = "bob" },
            };
        }

        var before = await siteA.SnapshotAsync();
        async Task RefusedAsync(PeerNode sender, JsonObject message, string reason)
        {
            var count = siteA.Refusals.Count;
            await sender.Manager.SendAsync(to, message);
            await Wait.UntilAsync(() => siteA.Refusals.Count > count, Timeout, $"site A refuses a message ({reason})");
            Assert.Contains(reason, siteA.Refusals.Recent[^1].Reason);
            Assert.Equal(before, await siteA.SnapshotAsync());
        }

        // Another agent, properly authenticated as itself, claims to be bob: not the partner recorded on the tally.
        await RefusedAsync(mallory, Good("m-1"), "is not the partner recorded on tally");
        // The partner's agent with a chit bob did not sign.
        using (var forger = UserSigningKey.Generate(UserKeyCurve.P256))
            await RefusedAsync(partner, Good("b-1", signer: forger), "bad_signature");
        // The partner's agent with a chit for a tally A does not have.
        await RefusedAsync(partner, Good("b-2", onTally: Guid.NewGuid()), "unknown tally");

        // from.agent that is not the agent the connection authenticated (the transport refuses this before the sink;
        // the sink checks it again, as the domain's own rule).
        var spoofed = Good("m-2");
        spoofed["from"]!["agent"] = partner.AgentId;
        var sink = siteA.App.Services.GetRequiredService<IPeerMessageSink>();
        Assert.Equal(PeerDelivery.Rejected, await sink.DeliverAsync(new PeerInboundMessage(mallory.AgentId, spoofed, PeerTransportMode.Noise, null), CancellationToken.None));
        Assert.Contains("is not the authenticated peer", siteA.Refusals.Recent[^1].Reason);
        Assert.Equal(before, await siteA.SnapshotAsync());

        // A valid chit is applied once; the same message id again changes nothing (and is answered with a receipt again).
        var valid = Good("b-3");
        int Receipts() => partner.Sink.Deliveries.Count(d => (string?)d.Message["target"] == "receipt" && (string?)d.Message["id"] == "b-3");
        await partner.Manager.SendAsync(to, (JsonObject)valid.DeepClone());
        await Wait.UntilAsync(() => Receipts() == 1, Timeout, "site A receipts the valid chit");
        var applied = await siteA.SnapshotAsync();
        Assert.NotEqual(before, applied);
        Assert.Equal(3, (await siteA.HalfAsync(tally))!.Good);
        await partner.Manager.SendAsync(to, (JsonObject)valid.DeepClone());
        await Wait.UntilAsync(() => Receipts() == 2, Timeout, "site A receipts the duplicate too");
        Assert.Equal(applied, await siteA.SnapshotAsync());
        Assert.Equal(3, (await siteA.HalfAsync(tally))!.Good);
        Assert.Equal(4, siteA.Refusals.Count);

        // First contact (IK) with an invitation token A never issued: refused before A answers the handshake.
        await using var stranger = await PeerNode.StartAsync(); // no connection to A yet: the ticket opens one with IK
        var refusedBefore = siteA.Refusals.Count;
        _ = stranger.Manager.SendAsync(to, new JsonObject
        {
            ["target"] = "tally", ["action"] = "ticket", ["id"] = "m-3",
            ["to"] = new JsonObject { ["cuid"] = "alice", ["agent"] = aAgent, ["host"] = "127.0.0.1", ["port"] = siteA.PeerPort },
            ["from"] = new JsonObject { ["cuid"] = "mal" },
            ["ticket"] = new JsonObject { ["token"] = "0123456789abcdef0123456789abcdef", ["cert"] = new JsonObject { ["chad"] = new JsonObject { ["cuid"] = "mal", ["agent"] = stranger.AgentId } } },
        });
        await Wait.UntilAsync(() => siteA.Refusals.Count > refusedBefore, Timeout, "site A refuses the unknown invitation token");
        Assert.Equal("ticket", siteA.Refusals.Recent[(int)refusedBefore].What);
        Assert.Contains("invitation token", siteA.Refusals.Recent[(int)refusedBefore].Reason);
        Assert.Equal(applied, await siteA.SnapshotAsync());

        // Still serving everyone else.
        await alice.GetAsync($"/api/tallies/{tally}");
    }

    [Fact]
    public async Task A_signed_message_the_database_cannot_store_is_refused_for_good_not_retried()
    {
        await using var siteA = await PeerSite.StartAsync(server, "na");
        await using var siteB = await PeerSite.StartAsync(server, "nb");
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);
        var aAgent = (await siteA.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        var bAgent = (await siteB.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        var sink = siteA.App.Services.GetRequiredService<IPeerMessageSink>();
        var before = await siteA.SnapshotAsync();

        // bob really signed this chit, but its memo holds U+0000, which PostgreSQL cannot store: retrying cannot help,
        // so it is refused (and a receipt tells the sender to stop) instead of escaping the sink on every re-send.
        var core = ChitJson.Core(tally, "foil", "tran", Guid.NewGuid(), ChipTimestamp.Truncate(DateTimeOffset.UtcNow), 700, null, "a\0b");
        var wire = (JsonObject)core.DeepClone();
        wire["sign"] = Base64Url.Encode(bob.Key.Sign(ChitJson.SignedBytes(core)));
        wire["chain"] = new JsonObject { ["cmd"] = "new", ["index"] = 1, ["hash"] = "AAAA", ["conf"] = 0 };
        var message = new JsonObject
        {
            ["target"] = "chit", ["action"] = "good", ["id"] = "nul-1", ["object"] = wire,
            ["to"] = new JsonObject { ["cuid"] = "alice", ["agent"] = aAgent },
            ["from"] = new JsonObject { ["cuid"] = "bob", ["agent"] = bAgent },
        };
        await siteA.AssertRefusedAsync(bAgent, message, "malformed_message");
        Assert.Equal(before, await siteA.SnapshotAsync());
        await alice.GetAsync($"/api/tallies/{tally}");
    }

    [Fact]
    public async Task A_signed_first_offer_without_the_partners_chad_is_refused_not_thrown()
    {
        await using var siteA = await PeerSite.StartAsync(server, "oa");
        using var alice = await siteA.AddUserAsync("alice");
        var aAgent = (await siteA.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        using var mallory = AgentKey.Generate();
        using var key = UserSigningKey.Generate(UserKeyCurve.P256);
        var sink = siteA.App.Services.GetRequiredService<IPeerMessageSink>();
        var before = await siteA.SnapshotAsync();

        // A first offer is exempt from the partner check (alice redeemed mallory's invitation); its partner certificate
        // carries a key (the signature verifies) but no chad. It used to escape the sink as a NullReferenceException,
        // unanswered, so the sender re-sent it forever.
        var aliceCert = await RedeemedAsync(siteA, "alice", "mal", mallory.Id);
        before = await siteA.SnapshotAsync();
        var message = FirstOffer(aAgent, aliceCert, key, foilChad: null, sender: mallory.Id, id: "nochad-1", withAgree: true);
        await siteA.AssertRefusedAsync(mallory.Id, message, "malformed_message");
        Assert.Equal(before, await siteA.SnapshotAsync());
        await alice.GetAsync("/api/tallies");
    }

    [Fact]
    public async Task A_first_offer_naming_another_agents_user_as_the_offerer_is_refused()
    {
        await using var siteA = await PeerSite.StartAsync(server, "sa");
        using var alice = await siteA.AddUserAsync("alice");
        var aAgent = (await siteA.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        using var mallory = AgentKey.Generate();
        using var victimAgent = AgentKey.Generate();
        using var key = UserSigningKey.Generate(UserKeyCurve.P256);
        var sink = siteA.App.Services.GetRequiredService<IPeerMessageSink>();
        var before = await siteA.SnapshotAsync();

        // Mallory's agent signs an offer with a key of its own but names bob at another agent as the offering partner.
        var aliceCert = await RedeemedAsync(siteA, "alice", "mal", mallory.Id);
        before = await siteA.SnapshotAsync();
        var message = FirstOffer(aAgent, aliceCert, key, foilChad: new JsonObject { ["cuid"] = "bob", ["agent"] = victimAgent.Id }, sender: mallory.Id, id: "spoof-1", withAgree: true);
        await siteA.AssertRefusedAsync(mallory.Id, message, "is not the sender");
        Assert.Equal(before, await siteA.SnapshotAsync());
        Assert.Empty(await alice.ListAsync("/api/tallies"));
    }

    [Fact]
    public async Task A_signed_first_offer_missing_a_required_member_is_refused_not_thrown()
    {
        await using var siteA = await PeerSite.StartAsync(server, "ma");
        using var alice = await siteA.AddUserAsync("alice");
        var aAgent = (await siteA.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        using var mallory = AgentKey.Generate();
        using var key = UserSigningKey.Generate(UserKeyCurve.P256);
        var sink = siteA.App.Services.GetRequiredService<IPeerMessageSink>();
        var before = await siteA.SnapshotAsync();

        // No "agree": the insert breaks a not-null constraint (23502), which used to escape the sink unanswered.
        var aliceCert = await RedeemedAsync(siteA, "alice", "mal", mallory.Id);
        before = await siteA.SnapshotAsync();
        var message = FirstOffer(aAgent, aliceCert, key, foilChad: new JsonObject { ["cuid"] = "mal", ["agent"] = mallory.Id }, sender: mallory.Id, id: "noagree-1", withAgree: false);
        await siteA.AssertRefusedAsync(mallory.Id, message, "malformed_message");
        Assert.Equal(before, await siteA.SnapshotAsync());
        Assert.Empty(await alice.ListAsync("/api/tallies"));
    }

    [Fact]
    public async Task A_first_contact_ticket_with_text_the_database_cannot_take_is_refused_not_thrown()
    {
        await using var siteA = await PeerSite.StartAsync(server, "ta");
        using var alice = await siteA.AddUserAsync("alice");
        var aAgent = (await siteA.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        using var stranger = AgentKey.Generate();
        var sink = siteA.App.Services.GetRequiredService<IPeerMessageSink>();
        var before = await siteA.SnapshotAsync();

        // Unauthenticated first contact: U+0000 in to.cuid or the message id used to fail the lookup (22021) and throw out
        // of the handshake instead of refusing the ticket.
        foreach (var (cuid, id) in new[] { ("ali\0ce", "t-1"), ("alice", "t\0-2") })
        {
            var ticket = new JsonObject
            {
                ["target"] = "tally", ["action"] = "ticket", ["id"] = id,
                ["to"] = new JsonObject { ["cuid"] = cuid, ["agent"] = aAgent },
                ["from"] = new JsonObject { ["cuid"] = "mal", ["agent"] = stranger.Id },
                ["ticket"] = new JsonObject { ["token"] = "0123456789abcdef0123456789abcdef", ["cert"] = new JsonObject() },
            };
            var refused = siteA.Refusals.Count;
            Assert.False(await sink.AcceptTicketAsync(new PeerTicketRequest(stranger.Id, ticket, PeerTransportMode.Noise, null), CancellationToken.None));
            Assert.Equal(refused + 1, siteA.Refusals.Count);
        }

        Assert.Equal(before, await siteA.SnapshotAsync());
        await alice.GetAsync("/api/tallies");
    }

    [Fact]
    public async Task A_message_with_a_lone_surrogate_escape_is_refused_not_thrown()
    {
        await using var siteA = await PeerSite.StartAsync(server, "la");
        using var alice = await siteA.AddUserAsync("alice");
        var aAgent = (await siteA.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        using var peer = AgentKey.Generate();
        var sink = siteA.App.Services.GetRequiredService<IPeerMessageSink>();
        var before = await siteA.SnapshotAsync();

        // Parsed as the transport parses frames: a string holding the escape \ud800 cannot be read as a .NET string.
        foreach (var (target, cuid) in new[] { ("\\ud800", "alice"), ("chit", "ali\\udc00ce") })
        {
            var message = System.Text.Json.Nodes.JsonNode.Parse(
                $"{{\"target\":\"{target}\",\"action\":\"good\",\"id\":\"s-1\",\"to\":{{\"cuid\":\"{cuid}\",\"agent\":\"{aAgent}\"}},\"from\":{{\"cuid\":\"p\",\"agent\":\"{peer.Id}\"}}}}")!.AsObject();
            var refused = siteA.Refusals.Count;
            Assert.Equal(PeerDelivery.Rejected, await sink.DeliverAsync(new PeerInboundMessage(peer.Id, message, PeerTransportMode.Noise, null), CancellationToken.None));
            Assert.Equal(refused + 1, siteA.Refusals.Count);
        }

        Assert.Equal(before, await siteA.SnapshotAsync());
        await alice.GetAsync("/api/tallies");
    }

    /// <summary>
    /// As if <paramref name="cuid"/> had redeemed an invitation of <paramref name="inviterCuid"/> at
    /// <paramref name="inviterAgent"/> (the only way a first offer is expected); returns the user's certificate.
    /// </summary>
    internal static async Task<JsonNode> RedeemedAsync(PeerSite site, string cuid, string inviterCuid, string inviterAgent)
    {
        await using var connection = await site.OpenAsync();
        await connection.ExecuteAsync(
            """
            INSERT INTO mychips.redemptions (user_id, inviter_cuid, inviter_agent, expires_at)
            SELECT user_id, @inviterCuid, @inviterAgent, now() + interval '1 hour' FROM mychips.users WHERE cuid = @cuid
            """, new { cuid, inviterCuid, inviterAgent });
        return JsonNode.Parse(await connection.ExecuteScalarAsync<string>("SELECT cert::text FROM mychips.users WHERE cuid = @cuid", new { cuid }) ?? "null")!;
    }


    /// <summary>
    /// A first tally offer to alice from <paramref name="sender"/>, signed by the foil with <paramref name="key"/>
    /// (first offers are exempt from the partner check, so only what they carry can be judged).
    /// </summary>
    internal static JsonObject FirstOffer(string aliceAgent, JsonNode aliceCert, UserSigningKey key, JsonObject? foilChad, string sender, string id, bool withAgree)
    {
        var foilCert = new JsonObject { ["public"] = key.ExportPublicJwk() };
        if (foilChad is not null)
        {
            foilCert["chad"] = foilChad;
        }

        var core = new JsonObject
        {
            ["version"] = 1, ["revision"] = 1, ["uuid"] = Guid.NewGuid().ToString(), ["date"] = "2026-01-01T00:00:00.000Z",
            ["stock"] = new JsonObject { ["cert"] = aliceCert.DeepClone() },
            ["foil"] = new JsonObject { ["cert"] = foilCert },
        };
        if (withAgree)
        {
            core["memo"] = null;
            core["agree"] = new JsonObject();
        }

        var wire = (JsonObject)core.DeepClone();
        wire["sign"] = new JsonObject { ["foil"] = Base64Url.Encode(key.Sign(TallyJson.SignedBytes(core))) };
        return new JsonObject
        {
            ["target"] = "tally", ["action"] = "offer", ["id"] = id, ["object"] = wire,
            ["to"] = new JsonObject { ["cuid"] = "alice", ["agent"] = aliceAgent },
            ["from"] = new JsonObject { ["cuid"] = "mal", ["agent"] = sender },
        };
    }
}
