using System.Text.Json.Nodes;

namespace MyChips.Tests.Api;

/// <summary>Drives two users through invitation, offer and accept, as the apps would.</summary>
public static class TallySetup
{
    /// <summary>Returns the uuid of an open tally where <paramref name="stock"/> holds the stock half.</summary>
    public static async Task<Guid> OpenAsync(ApiUser stock, ApiUser foil, long stockGrants = 10_000_000, long foilGrants = 10_000_000, string? memo = "test tally")
    {
        var draft = await stock.PostAsync("/api/tallies", new
        {
            type = "stock", memo,
            holdTerms = new JsonObject { ["limit"] = stockGrants, ["call"] = 30 },
            partTerms = new JsonObject { ["limit"] = foilGrants },
        });
        var tally = Guid.Parse((string)draft["uuid"]!);
        var invitation = await stock.PostAsync($"/api/tallies/{tally}/invite");
        await foil.OkAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"] });
        var pdraft = await stock.GetAsync($"/api/tallies/{tally}");
        Assert.Equal("P.draft", (string)pdraft["state"]!);
        await stock.PostAsync($"/api/tallies/{tally}/offer", new { signature = stock.SignTally((JsonObject)pdraft["json"]!) });
        var offered = await foil.GetAsync($"/api/tallies/{tally}");
        Assert.Equal("P.offer", (string)offered["state"]!);
        var open = await foil.PostAsync($"/api/tallies/{tally}/accept", new { signature = foil.SignTally((JsonObject)offered["json"]!) });
        Assert.Equal("open", (string)open["state"]!);
        return tally;
    }
}
