using System.Net;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Tests.CrossSite;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>
/// <c>POST /api/invitations/redeem</c> takes the invitation's optional <c>expires</c>, as the reference's invitation
/// objects carry it (PostgreSQL's JSON timestamp) or in our own ISO 8601 form: a future one redeems, a past one is 410
/// <c>invitation_expired</c>, a malformed one 400 <c>invalid_field</c>; the refused ones write nothing.
/// </summary>
[Collection(UserApiCollection.Name)]
public sealed class InvitationExpiresTests(PostgresServer server)
{
    [Fact]
    public async Task Redeem_with_a_future_expires_in_the_reference_form_or_ours_works()
    {
        await using var site = await ApiSite.StartAsync(server, "expok");
        using var adam = await site.AddUserAsync("adam", UserKeyCurve.P521);
        using var bob = await site.AddUserAsync("bob", UserKeyCurve.P521);

        // The reference's form: PostgreSQL's JSON rendering of timestamptz, trailing zeros trimmed, numeric offset.
        var future = DateTimeOffset.UtcNow.AddHours(1);
        var (tally, invitation) = await InviteAsync(adam);
        var referenceForm = future.ToOffset(TimeSpan.FromHours(2)).ToString("yyyy-MM-dd'T'HH:mm:ss.ff", System.Globalization.CultureInfo.InvariantCulture) + "+02:00";
        var redeemed = await bob.OkAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"], expires = referenceForm });
        Assert.Equal("local", (string)redeemed["delivered"]!);
        Assert.Equal("P.draft", (string)(await adam.GetAsync($"/api/tallies/{tally}"))["state"]!);

        // Ours: the invite response's own expires, passed on verbatim.
        var (tally2, invitation2) = await InviteAsync(adam);
        await bob.OkAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = (string)invitation2["token"]!, chad = invitation2["chad"], expires = (string)invitation2["expires"]! });
        Assert.Equal("P.draft", (string)(await adam.GetAsync($"/api/tallies/{tally2}"))["state"]!);
    }

    [Fact]
    public async Task Redeem_with_a_past_expires_is_410_invitation_expired_and_writes_nothing()
    {
        await using var site = await ApiSite.StartAsync(server, "exppast");
        using var adam = await site.AddUserAsync("adam", UserKeyCurve.P521);
        using var bob = await site.AddUserAsync("bob", UserKeyCurve.P521);
        var database = new SiteDatabase(site.ConnectionString);
        var (tally, invitation) = await InviteAsync(adam);
        var before = await database.SnapshotAsync();

        var (status, body) = await bob.SendAsync(HttpMethod.Post, "/api/invitations/redeem",
            new { token = (string)invitation["token"]!, chad = invitation["chad"], expires = "2025-03-01T09:15:02.41+00:00" });

        Assert.Equal(HttpStatusCode.Gone, status);
        Assert.Equal("invitation_expired", (string)body["error"]!["code"]!);
        Assert.Equal(before, await database.SnapshotAsync());
        Assert.Equal("draft", (string)(await adam.GetAsync($"/api/tallies/{tally}"))["state"]!);
    }

    [Fact]
    public async Task Redeem_with_a_malformed_expires_is_400_invalid_field_and_writes_nothing()
    {
        await using var site = await ApiSite.StartAsync(server, "expbad");
        using var adam = await site.AddUserAsync("adam", UserKeyCurve.P521);
        using var bob = await site.AddUserAsync("bob", UserKeyCurve.P521);
        var database = new SiteDatabase(site.ConnectionString);
        var (tally, invitation) = await InviteAsync(adam);
        var before = await database.SnapshotAsync();

        // Not a date; no offset (ambiguous); month 13; a space for the T; a number.
        foreach (var expires in new[] { "\"tomorrow\"", "\"2099-03-01T09:15:02\"", "\"2099-13-01T09:15:02Z\"", "\"2099-03-01 09:15:02+00:00\"", "20990301" })
        {
            var raw = $"{{\"token\":\"{(string)invitation["token"]!}\",\"chad\":{invitation["chad"]!.ToJsonString()},\"expires\":{expires}}}";
            var (status, body) = await bob.SendAsync(HttpMethod.Post, "/api/invitations/redeem", raw);

            Assert.True(HttpStatusCode.BadRequest == status, $"{expires}: {(int)status} {body.ToJsonString()}");
            Assert.Equal("invalid_field", (string)body["error"]!["code"]!);
            Assert.Contains("expires", (string)body["error"]!["message"]!, StringComparison.Ordinal);
        }

        Assert.Equal(before, await database.SnapshotAsync());
        Assert.Equal("draft", (string)(await adam.GetAsync($"/api/tallies/{tally}"))["state"]!);
    }

    private static async Task<(Guid Tally, JsonObject Invitation)> InviteAsync(ApiUser inviter)
    {
        var draft = await inviter.PostAsync("/api/tallies", new { type = "stock" });
        var tally = Guid.Parse((string)draft["uuid"]!);
        return (tally, await inviter.PostAsync($"/api/tallies/{tally}/invite"));
    }
}
