using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.CrossSite;

/// <summary>
/// Numbers from a peer that the three readings of a number (signed as a double, hashed through jsonb numeric, stored as
/// numeric) would not agree on, or that jsonb cannot hold: refused as malformed_message with nothing written, never an
/// exception out of the sink; exact numbers travel and both halves hash them alike (docs/numbers.md).
/// </summary>
[Collection(CrossSiteCollection.Name)]
public sealed class CrossSiteNumberTests(PostgresServer server)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_settings_chit_whose_numbers_would_differ_between_signature_digest_and_storage_is_refused_and_an_exact_one_agrees_on_both_sites()
    {
        await using var siteA = await PeerSite.StartAsync(server, "sa");
        await using var siteB = await PeerSite.StartAsync(server, "sb");
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);
        var aAgent = (await siteA.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        var bAgent = (await siteB.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        var sink = siteA.App.Services.GetRequiredService<IPeerMessageSink>();
        var before = await siteA.SnapshotAsync();

        // Really signed by bob (S reads them as the doubles 0 and 1), but not the same value as jsonb numeric and as the
        // tally's column: refused, nothing written, rather than stored with a digest another site could compute otherwise.
        var n = 0;
        foreach (var settings in new[] { "{\"reward\":1e-400}", "{\"clutch\":1.0000000000000000000000000001}" })
        {
            var core = ChitJson.Core(tally, "foil", "set", Guid.NewGuid(), ChipTimestamp.Truncate(DateTimeOffset.UtcNow), null, JsonNode.Parse(settings), null);
            var wire = (JsonObject)core.DeepClone();
            wire["sign"] = Base64Url.Encode(bob.Key.Sign(ChitJson.SignedBytes(core)));
            wire["chain"] = new JsonObject { ["cmd"] = "new", ["index"] = 1, ["hash"] = "AAAA", ["conf"] = 0 };
            var message = new JsonObject
            {
                ["target"] = "chit", ["action"] = "good", ["id"] = $"set-{n++}", ["object"] = wire,
                ["to"] = new JsonObject { ["cuid"] = "alice", ["agent"] = aAgent },
                ["from"] = new JsonObject { ["cuid"] = "bob", ["agent"] = bAgent },
            };
            await siteA.AssertRefusedAsync(bAgent, message, "malformed_message");
        }

        Assert.Equal(before, await siteA.SnapshotAsync());

        // Exact numbers (one written with an exponent, which jsonb re-prints as 0.005) travel, and both halves hash the
        // chit alike: the chains converge and verify from the stored rows on both sites.
        await bob.PostAsync($"/api/tallies/{tally}/settings", bob.Settings(tally, "foil", (JsonObject)JsonNode.Parse("{\"reward\":5e-3,\"clutch\":-0.25}")!));
        await CrossSiteTally.ConvergedAsync(siteA.Database, siteB.Database, tally, 1, Timeout);
        await CrossSiteTally.AssertAgreeAsync(siteA.Database, siteB.Database, tally, 0);
    }

    [Fact]
    public async Task A_signed_chit_with_a_number_jsonb_cannot_hold_is_refused_not_thrown()
    {
        await using var siteA = await PeerSite.StartAsync(server, "ja");
        await using var siteB = await PeerSite.StartAsync(server, "jb");
        using var alice = await siteA.AddUserAsync("alice");
        using var bob = await siteB.AddUserAsync("bob");
        var tally = await CrossSiteTally.OpenAsync(siteA.Database, alice, siteB.Database, bob);
        var aAgent = (await siteA.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        var bAgent = (await siteB.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        var sink = siteA.App.Services.GetRequiredService<IPeerMessageSink>();
        var before = await siteA.SnapshotAsync();

        // Signed by bob, but its ref holds a number beyond PostgreSQL numeric: it can never be hashed as the database
        // would or stored, so it is refused for good instead of escaping the sink on every re-send.
        var n = 0;
        foreach (var literal in new[] { "1e200000", "1e-20000" })
        {
            var core = ChitJson.Core(tally, "foil", "tran", Guid.NewGuid(), ChipTimestamp.Truncate(DateTimeOffset.UtcNow), 700, JsonNode.Parse($"{{\"x\":{literal}}}"), null);
            var wire = (JsonObject)core.DeepClone();
            wire["sign"] = Base64Url.Encode(bob.Key.Sign(ChitJson.SignedBytes(core)));
            wire["chain"] = new JsonObject { ["cmd"] = "new", ["index"] = 1, ["hash"] = "AAAA", ["conf"] = 0 };
            var message = new JsonObject
            {
                ["target"] = "chit", ["action"] = "good", ["id"] = $"big-{n++}", ["object"] = wire,
                ["to"] = new JsonObject { ["cuid"] = "alice", ["agent"] = aAgent },
                ["from"] = new JsonObject { ["cuid"] = "bob", ["agent"] = bAgent },
            };
            await siteA.AssertRefusedAsync(bAgent, message, "malformed_message");
        }

        Assert.Equal(before, await siteA.SnapshotAsync());
        await alice.GetAsync($"/api/tallies/{tally}");
    }

}
