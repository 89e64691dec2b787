using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using MyChips.Data.Domain;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Api;

/// <summary>
/// Login challenges are stateless (an HMAC'd nonce with its expiry): issuing one takes the same steps, none of them in
/// the database, whether or not the user exists; the answer accepts a nonce once, for its user, before it expires.
/// </summary>
[Collection(UserApiCollection.Name)]
public sealed class LoginChallengeTests(PostgresServer server)
{
    [Fact]
    public async Task A_challenge_for_a_known_and_an_unknown_user_runs_no_statement_and_writes_no_row()
    {
        await using var site = await ApiSite.StartAsync(server, "challenge");
        using var adam = await site.AddUserAsync("adam");
        var database = new NpgsqlConnectionStringBuilder(site.ConnectionString).Database!;
        // The first challenge of a site may create its secret; the ones measured come after.
        await adam.PostAsync("/api/login/challenge", new { user = "warm-up" });
        var rowsBefore = await TokenRowsAsync(site);

        var statements = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                // Other tests run in parallel: only this site's database counts.
                if (activity.TagObjects.Any(tag => tag.Value as string == database))
                    statements.Enqueue(activity.DisplayName);
            },
        };
        ActivitySource.AddActivityListener(listener);

        var known = await adam.PostAsync("/api/login/challenge", new { user = "adam" });
        var seenForKnown = statements.Count;
        var unknown = await adam.PostAsync("/api/login/challenge", new { user = "nobody-here" });
        var seenForUnknown = statements.Count - seenForKnown;
        // The control: the listener does see this site's statements (here the session check of /api/me).
        await adam.GetAsync("/api/me");
        var seenForControl = statements.Count - seenForKnown - seenForUnknown;

        Assert.Equal(0, seenForKnown);
        Assert.Equal(0, seenForUnknown);
        Assert.True(seenForControl > 0, "the statement listener saw nothing of the site's database");
        Assert.Equal(rowsBefore, await TokenRowsAsync(site));
        Assert.Equal(((string)known["nonce"]!).Length, ((string)unknown["nonce"]!).Length);
        Assert.Equal(((string)known["expires"]!).Length, ((string)unknown["expires"]!).Length);
    }

    [Fact]
    public async Task A_nonce_logs_in_once_only_for_its_user_and_is_refused_when_tampered_with_or_expired()
    {
        await using var site = await ApiSite.StartAsync(server, "challenge2");
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");

        var nonce = (string)(await adam.PostAsync("/api/login/challenge", new { user = "adam" }))["nonce"]!;
        // bob cannot use adam's nonce, even signing it as his own login.
        var (forBob, body) = await bob.SendAsync(HttpMethod.Post, "/api/login/signed",
            new { user = "bob", nonce, signature = bob.Sign(LoginChallenge.SignedBytes("bob", nonce)) });
        Assert.Equal(HttpStatusCode.Unauthorized, forBob);
        Assert.Equal("unauthorized", (string?)body["error"]?["code"]);
        // A changed character breaks the HMAC.
        var tampered = nonce[..^2] + (nonce[^2] == 'A' ? 'B' : 'A') + nonce[^1];
        Assert.Equal(HttpStatusCode.Unauthorized, (await adam.SendAsync(HttpMethod.Post, "/api/login/signed",
            new { user = "adam", nonce = tampered, signature = adam.Sign(LoginChallenge.SignedBytes("adam", tampered)) })).Status);
        // The real one works once.
        var login = new { user = "adam", nonce, signature = adam.Sign(LoginChallenge.SignedBytes("adam", nonce)) };
        Assert.Equal(HttpStatusCode.OK, (await adam.SendAsync(HttpMethod.Post, "/api/login/signed", login)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await adam.SendAsync(HttpMethod.Post, "/api/login/signed", login)).Status);

        // Another instance of the site (same secret) honours a nonce issued here.
        await using var second = await ApiSite.StartAsync(site.ConnectionString);
        var fresh = (string)(await adam.PostAsync("/api/login/challenge", new { user = "adam" }))["nonce"]!;
        using var other = new HttpClient { BaseAddress = second.BaseAddress };
        using var there = await other.PostAsync("/api/login/signed", new StringContent(
            new JsonObject { ["user"] = "adam", ["nonce"] = fresh, ["signature"] = adam.Sign(LoginChallenge.SignedBytes("adam", fresh)) }.ToJsonString(),
            System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, there.StatusCode);
    }

    [Fact]
    public async Task An_expired_nonce_is_refused()
    {
        await using var site = await ApiSite.StartAsync(server, "challenge3", new Dictionary<string, string?> { ["Domain:ChallengeLifetime"] = "00:00:01" });
        using var adam = await site.AddUserAsync("adam");
        var challenge = await adam.PostAsync("/api/login/challenge", new { user = "adam" });
        var nonce = (string)challenge["nonce"]!;
        var expires = DateTimeOffset.Parse((string)challenge["expires"]!, System.Globalization.CultureInfo.InvariantCulture);
        await Wait.UntilAsync(() => DateTimeOffset.UtcNow > expires.AddMilliseconds(50), TimeSpan.FromSeconds(10), "the challenge expired");

        var (status, body) = await adam.SendAsync(HttpMethod.Post, "/api/login/signed",
            new { user = "adam", nonce, signature = adam.Sign(LoginChallenge.SignedBytes("adam", nonce)) });

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("unauthorized", (string?)body["error"]?["code"]);
    }

    private static async Task<string> TokenRowsAsync(ApiSite site)
    {
        await using var connection = await site.OpenAsync();
        return await connection.ExecuteScalarAsync<string>("SELECT count(*) || '/' || coalesce(max(token_id), 0) FROM mychips.tokens") ?? "";
    }
}
