using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>
/// The operator's user verbs (<c>mychips user list|disable|enable|revoke-key</c>) as real processes against the
/// database of a running site, and what a user's app sees through the API afterwards.
/// </summary>
[Collection(UserApiCollection.Name)]
public sealed class UserAdminTests(PostgresServer server)
{
    // No session cache: the site must refuse a token as soon as the CLI process has ended the session.
    private static readonly Dictionary<string, string?> NoSessionCache = new() { ["Domain:SessionCacheTime"] = "00:00:00" };

    [Fact]
    public async Task User_list_shows_every_user_with_disabled_and_key_state_and_unknown_users_get_a_one_line_error()
    {
        await using var site = await ApiSite.StartAsync(server, "ulist");
        using var adam = await site.AddUserAsync("adam");
        var (code, output) = await Cli("user", "add", "--name", "Carla Cruz", "--cuid", "carla", "--db", site.ConnectionString);
        Assert.True(code == 0, output);
        (code, output) = await Cli("user", "disable", "carla", "--db", site.ConnectionString);
        Assert.True(code == 0, output);
        Assert.Contains("User carla is disabled", output);

        (code, output) = await Cli("user", "list", "--db", site.ConnectionString);
        Assert.True(code == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Matches(@"^ID\s+CUID\s+NAME\s+DISABLED\s+KEY\s+CREATED$", lines.Single(l => l.StartsWith("ID", StringComparison.Ordinal)));
        Assert.Matches(@"^\d+\s+adam\s+adam Example\s+no\s+yes\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", lines.Single(l => l.Contains(" adam ", StringComparison.Ordinal)));
        Assert.Matches(@"^\d+\s+carla\s+Carla Cruz\s+yes\s+no\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", lines.Single(l => l.Contains(" carla ", StringComparison.Ordinal)));

        (code, output) = await Cli("user", "list", "--json", "--db", site.ConnectionString);
        Assert.True(code == 0, output);
        var users = JsonNode.Parse(output.Split('\n').First(l => l.StartsWith("{\"users\"", StringComparison.Ordinal)))!["users"]!.AsArray();
        Assert.Equal(["adam", "carla"], users.Select(u => (string)u!["cuid"]!).ToArray());
        Assert.Equal([false, true], users.Select(u => (bool)u!["disabled"]!).ToArray());
        Assert.Equal([true, false], users.Select(u => (bool)u!["keyRegistered"]!).ToArray());
        Assert.All(users, u => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string)u!["created"]!));

        foreach (var verb in new[] { "disable", "enable", "revoke-key" })
        {
            (code, output) = await Cli("user", verb, "nobody", "--db", site.ConnectionString);
            Assert.Equal(1, code);
            var error = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).ToList();
            Assert.Equal(["mychips: error [user_not_found]: No user 'nobody' on this site."], error.Select(l => l.Trim()).ToList());
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_disabled_user_is_refused_at_once_with_user_disabled_and_logs_in_again_after_enable()
    {
        await using var site = await ApiSite.StartAsync(server, "udisable", NoSessionCache);
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");
        var tally = await TallySetup.OpenAsync(adam, bob);
        await adam.GetAsync("/api/me");
        var (code, output) = await Cli("user", "disable", "adam", "--db", site.ConnectionString);
        Assert.True(code == 0, output);

        // The session ended with the disable: the bearer token is refused at once.
        var (status, body) = await adam.SendAsync(HttpMethod.Get, "/api/me");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("unauthorized", (string)body["error"]!["code"]!);

        // Signed login and ticket login are refused with user_disabled.
        Assert.Equal("user_disabled", await SignedLoginErrorAsync(site, adam));
        var ticket = await IssueTicketAsync(site, "adam");
        using (var anonymous = new HttpClient { BaseAddress = site.BaseAddress })
        {
            using var refused = await anonymous.PostAsJsonAsync("/api/login/ticket", new { user = "adam", token = ticket, publicKey = adam.Key.ExportPublicJwk() });
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("user_disabled", (string)(await ApiUser.ReadAsync(refused))["error"]!["code"]!);
        }

        // Adam's tally keeps working for his partner: bob pays him and it lands on adam's half too.
        var chainBefore = (await site.VerifyChainAsync(tally, "stock")).Length;
        var paid = await bob.PostAsync($"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 1500));
        Assert.Equal("L.good", (string)paid["state"]!);
        Assert.Equal(chainBefore + 1, (await site.VerifyChainAsync(tally, "stock")).Length);

        (code, output) = await Cli("user", "enable", "adam", "--db", site.ConnectionString);
        Assert.True(code == 0, output);
        Assert.Contains("User adam is enabled", output);
        Assert.Null(await SignedLoginErrorAsync(site, adam));
        var me = await adam.GetAsync("/api/me");
        Assert.Equal("adam", (string)me["user"]!);
        var balance = await adam.GetAsync("/api/balance");
        Assert.Equal(1500, (long)balance["net"]!);
    }

    [Fact]
    public async Task Revoke_key_ends_sessions_and_refuses_signed_login_until_a_new_ticket_registers_a_key()
    {
        await using var site = await ApiSite.StartAsync(server, "urevoke", NoSessionCache);
        using var adam = await site.AddUserAsync("adam");
        await adam.GetAsync("/api/me");
        var (code, output) = await Cli("user", "revoke-key", "adam", "--db", site.ConnectionString);
        Assert.True(code == 0, output);
        Assert.Contains("The key of user adam is revoked", output);

        var (status, body) = await adam.SendAsync(HttpMethod.Get, "/api/me");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("unauthorized", (string)body["error"]!["code"]!);
        Assert.Equal("unauthorized", await SignedLoginErrorAsync(site, adam)); // the old key no longer logs in

        (code, output) = await Cli("user", "list", "--json", "--db", site.ConnectionString);
        Assert.True(code == 0, output);
        Assert.False((bool)JsonNode.Parse(output.Split('\n').First(l => l.StartsWith("{\"users\"", StringComparison.Ordinal)))!["users"]![0]!["keyRegistered"]!);

        // A new ticket registers a new key, which then logs in by signature.
        using var newKey = UserSigningKey.Generate(UserKeyCurve.P256);
        var ticket = await IssueTicketAsync(site, "adam");
        using var http = new HttpClient { BaseAddress = site.BaseAddress };
        using var login = await http.PostAsJsonAsync("/api/login/ticket", new { user = "adam", token = ticket, publicKey = newKey.ExportPublicJwk() });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal("unauthorized", await SignedLoginErrorAsync(site, adam));
        var challenge = await PostAnonymousAsync(site, "/api/login/challenge", new { user = "adam" });
        var nonce = (string)challenge.Body["nonce"]!;
        var signed = await PostAnonymousAsync(site, "/api/login/signed",
            new { user = "adam", nonce, signature = Base64Url.Encode(newKey.Sign(LoginChallenge.SignedBytes("adam", nonce))) });
        Assert.Equal(HttpStatusCode.OK, signed.Status);
    }

    private static Task<(int ExitCode, string Output)> Cli(params string[] arguments) => MyChipsProcess.RunAsync(arguments);

    private static async Task<string> IssueTicketAsync(ApiSite site, string cuid)
    {
        var (code, output) = await Cli("user", "ticket", cuid, "--db", site.ConnectionString);
        Assert.True(code == 0, output);
        return (string)JsonNode.Parse(output.Split('\n').First(l => l.StartsWith("{\"ticket\"", StringComparison.Ordinal)))!["ticket"]!["token"]!;
    }

    /// <summary>Challenge and signed login with the user's key: null when it gave a session (then used), else the error code.</summary>
    private static async Task<string?> SignedLoginErrorAsync(ApiSite site, ApiUser user)
    {
        var challenge = await PostAnonymousAsync(site, "/api/login/challenge", new { user = user.Cuid });
        Assert.Equal(HttpStatusCode.OK, challenge.Status);
        var nonce = (string)challenge.Body["nonce"]!;
        var (status, body) = await PostAnonymousAsync(site, "/api/login/signed",
            new { user = user.Cuid, nonce, signature = user.Sign(LoginChallenge.SignedBytes(user.Cuid, nonce)) });
        if (status == HttpStatusCode.OK)
        {
            user.UseToken((string)body["token"]!);
            return null;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        return (string)body["error"]!["code"]!;
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body)> PostAnonymousAsync(ApiSite site, string path, object body)
    {
        using var http = new HttpClient { BaseAddress = site.BaseAddress };
        using var response = await http.PostAsJsonAsync(path, body);
        return (response.StatusCode, await ApiUser.ReadAsync(response));
    }
}
