using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Tests.CrossSite;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>
/// A reference node verifies user signatures only as P-521/SHA-384 (PROTOCOL 3.1). A partner agent configured as a
/// reference peer (<c>Peer:PeerModes:&lt;agent&gt;</c> = NoiseReference or Raw) therefore makes offering or accepting
/// with a P-256 key a 409 <c>key_not_supported_by_partner</c> that writes nothing; P-521 proceeds, and a partner that
/// is not a reference peer takes P-256 as before. The partner's first offer is delivered through the site's peer sink.
/// </summary>
[Collection(UserApiCollection.Name)]
public sealed class ReferencePeerKeyTests(PostgresServer server)
{
    [Fact]
    public async Task Offer_to_a_reference_peer_with_a_P256_key_is_409_and_writes_nothing_P521_proceeds_an_ordinary_peer_takes_P256()
    {
        using var reference = AgentKey.Generate();
        using var ordinary = AgentKey.Generate();
        await using var site = await ApiSite.StartAsync(server, "refoffer", new Dictionary<string, string?>
        {
            [$"Peer:PeerModes:{reference.Id}"] = nameof(PeerTransportMode.NoiseReference),
        });
        using var p256 = await site.AddUserAsync("ada", UserKeyCurve.P256);
        using var p521 = await site.AddUserAsync("bea", UserKeyCurve.P521);
        var database = new SiteDatabase(site.ConnectionString);

        // P-256 user, reference partner: a counter-offer (revise) is a draft they may offer; the offer is refused.
        var refused = await PartnerOffersAsync(site, p256, reference.Id, "r1");
        await p256.PostAsync($"/api/tallies/{refused}/revise");
        var draft = await p256.GetAsync($"/api/tallies/{refused}");
        Assert.Equal("P.draft", (string)draft["state"]!);
        var before = await database.SnapshotAsync();
        var (status, body) = await p256.SendAsync(HttpMethod.Post, $"/api/tallies/{refused}/offer", new { signature = p256.SignTally((JsonObject)draft["json"]!) });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("key_not_supported_by_partner", (string)body["error"]!["code"]!);
        Assert.Contains("P-521", (string)body["error"]!["message"]!, StringComparison.Ordinal);
        Assert.Equal(before, await database.SnapshotAsync());
        Assert.Equal("P.draft", (string)(await p256.GetAsync($"/api/tallies/{refused}"))["state"]!);

        // P-521 user, same reference partner: proceeds.
        var allowed = await PartnerOffersAsync(site, p521, reference.Id, "r2");
        await p521.PostAsync($"/api/tallies/{allowed}/revise");
        var draft521 = await p521.GetAsync($"/api/tallies/{allowed}");
        var offered = await p521.PostAsync($"/api/tallies/{allowed}/offer", new { signature = p521.SignTally((JsonObject)draft521["json"]!) });
        Assert.Equal("H.offer", (string)offered["state"]!);

        // P-256 user, a partner that is not a reference peer: as before.
        var usual = await PartnerOffersAsync(site, p256, ordinary.Id, "o1");
        await p256.PostAsync($"/api/tallies/{usual}/revise");
        var draftUsual = await p256.GetAsync($"/api/tallies/{usual}");
        var offeredUsual = await p256.PostAsync($"/api/tallies/{usual}/offer", new { signature = p256.SignTally((JsonObject)draftUsual["json"]!) });
        Assert.Equal("H.offer", (string)offeredUsual["state"]!);
    }

    [Fact]
    public async Task Accept_from_a_reference_peer_with_a_P256_key_is_409_and_writes_nothing_P521_opens()
    {
        using var reference = AgentKey.Generate();
        await using var site = await ApiSite.StartAsync(server, "refaccept", new Dictionary<string, string?>
        {
            [$"Peer:PeerModes:{reference.Id}"] = nameof(PeerTransportMode.Raw),
        });
        using var p256 = await site.AddUserAsync("ada", UserKeyCurve.P256);
        using var p521 = await site.AddUserAsync("bea", UserKeyCurve.P521);
        var database = new SiteDatabase(site.ConnectionString);

        var refused = await PartnerOffersAsync(site, p256, reference.Id, "r1");
        var offer = await p256.GetAsync($"/api/tallies/{refused}");
        Assert.Equal("P.offer", (string)offer["state"]!);
        var before = await database.SnapshotAsync();
        var (status, body) = await p256.SendAsync(HttpMethod.Post, $"/api/tallies/{refused}/accept", new { signature = p256.SignTally((JsonObject)offer["json"]!) });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("key_not_supported_by_partner", (string)body["error"]!["code"]!);
        Assert.Equal(before, await database.SnapshotAsync());

        var allowed = await PartnerOffersAsync(site, p521, reference.Id, "r2");
        var offer521 = await p521.GetAsync($"/api/tallies/{allowed}");
        var open = await p521.PostAsync($"/api/tallies/{allowed}/accept", new { signature = p521.SignTally((JsonObject)offer521["json"]!) });
        Assert.Equal("open", (string)open["state"]!);
    }

    /// <summary>
    /// A user of <paramref name="partnerAgent"/> (P-521, as a reference user must be) offers <paramref name="user"/> a
    /// new tally: the signed first offer, delivered to the site as its peer transport would; returns the tally id.
    /// </summary>
    private static async Task<Guid> PartnerOffersAsync(ApiSite site, ApiUser user, string partnerAgent, string id)
    {
        using var partnerKey = UserSigningKey.Generate(UserKeyCurve.P521);
        var me = await user.GetAsync("/api/me");
        var cert = (JsonObject)me["cert"]!.DeepClone();
        var ourAgent = (string)cert["chad"]!["agent"]!;
        var uuid = Guid.NewGuid();
        var partnerChad = new JsonObject { ["cuid"] = "rob", ["agent"] = partnerAgent, ["host"] = "127.0.0.1", ["port"] = 9 };
        var core = new JsonObject
        {
            ["version"] = 1, ["revision"] = 1, ["uuid"] = uuid.ToString(),
            ["date"] = ChipTimestamp.ToText(ChipTimestamp.Truncate(DateTimeOffset.UtcNow)), ["memo"] = null,
            ["agree"] = new JsonObject { ["host"] = "mychips.org", ["source"] = "Tally_Contract/eng" },
            ["stock"] = new JsonObject { ["cert"] = cert, ["terms"] = new JsonObject() },
            ["foil"] = new JsonObject
            {
                ["cert"] = new JsonObject { ["chad"] = partnerChad, ["public"] = partnerKey.ExportPublicJwk() },
                ["terms"] = new JsonObject(),
            },
        };
        var wire = (JsonObject)core.DeepClone();
        wire["sign"] = new JsonObject { ["foil"] = Base64Url.Encode(partnerKey.Sign(TallyJson.SignedBytes(core))) };
        var message = new JsonObject
        {
            ["target"] = "tally", ["action"] = "offer", ["id"] = $"{id}-{uuid}", ["object"] = wire,
            ["to"] = new JsonObject { ["cuid"] = user.Cuid, ["agent"] = ourAgent },
            ["from"] = partnerChad.DeepClone(),
        };
        // A first offer is welcome only from an inviter whose invitation the user redeemed (the ticket waits in the outbox).
        await user.OkAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = $"invitation-{id}", chad = partnerChad });
        var sink = site.App.Services.GetRequiredService<IPeerMessageSink>();
        Assert.Equal(PeerDelivery.Accepted, await sink.DeliverAsync(new PeerInboundMessage(partnerAgent, message, PeerTransportMode.NoiseReference, null), CancellationToken.None));
        return uuid;
    }
}
