using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data.Domain;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>What a client developer can rely on across the API: one date form, one answer to a creation, plain messages.</summary>
[Collection(UserApiCollection.Name)]
public sealed class ApiConsistencyTests(PostgresServer server)
{
    private const string DateForm = @"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$";

    [Fact]
    public async Task Api_timestamps_are_utc_with_three_fraction_digits_and_certificate_dates_stay_verbatim()
    {
        await using var site = await ApiSite.StartAsync(server, "dates");
        var users = site.App.Services.GetRequiredService<Users>();
        var tickets = site.App.Services.GetRequiredService<Tickets>();
        await users.AddAsync("Adam Example", "adam", CancellationToken.None);
        var ticket = await tickets.IssueAsync("adam", null, CancellationToken.None);
        using var adam = new ApiUser("adam", MyChips.Data.Crypto.UserSigningKey.Generate(MyChips.Data.Crypto.UserKeyCurve.P256), new HttpClient { BaseAddress = site.BaseAddress });

        var login = await adam.PostAsync("/api/login/ticket", new { user = "adam", token = ticket.Token, publicKey = adam.Key.ExportPublicJwk() });
        Assert.Matches(DateForm, (string)login["expires"]!);
        adam.UseToken((string)login["token"]!);

        var challenge = await adam.PostAsync("/api/login/challenge", new { user = "adam" });
        Assert.Matches(DateForm, (string)challenge["expires"]!);
        Assert.Matches(DateForm, (string)(await adam.PostAsync("/api/login/challenge", new { user = "nobody" }))["expires"]!);
        var nonce = (string)challenge["nonce"]!;
        var signed = await adam.PostAsync("/api/login/signed", new { user = "adam", nonce, signature = adam.Sign(LoginChallenge.SignedBytes("adam", nonce)) });
        Assert.Matches(DateForm, (string)signed["expires"]!);

        var me = await adam.GetAsync("/api/me");
        Assert.Matches(DateForm, (string)me["sessionExpires"]!);

        var draft = await adam.PostAsync("/api/tallies", new { type = "stock" });
        var invitation = await adam.PostAsync($"/api/tallies/{(string)draft["uuid"]!}/invite");
        Assert.Matches(DateForm, (string)invitation["expires"]!);

        // The certificate is signed data: its date is written exactly as stored, in the tally JSON as in /api/me.
        await using var connection = await site.OpenAsync();
        var stored = await connection.ExecuteScalarAsync<string>("SELECT cert->>'date' FROM mychips.users WHERE cuid = 'adam'");
        Assert.Equal(stored, (string)me["cert"]!["date"]!);
        Assert.Equal(stored, (string)draft["json"]!["stock"]!["cert"]!["date"]!);
    }

    [Fact]
    public async Task Creating_endpoints_answer_201_with_the_new_object_and_a_location_that_reads_it_back()
    {
        await using var site = await ApiSite.StartAsync(server, "created");
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");

        var (status, draft, location) = await PostAsync(adam, "/api/tallies", new { type = "stock" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal($"/api/tallies/{(string)draft["uuid"]!}", location);
        Assert.Equal((string)draft["uuid"]!, (string)(await adam.GetAsync(location!))["uuid"]!);

        (status, var invitation, location) = await PostAsync(adam, $"/api/tallies/{(string)draft["uuid"]!}/invite", new { });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.False(string.IsNullOrEmpty((string?)invitation["token"]));
        Assert.Null(location); // an invitation is not a resource one can read back

        var tally = await TallySetup.OpenAsync(adam, bob);
        (status, var paid, location) = await PostAsync(bob, $"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 1000));
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal($"/api/tallies/{tally}/chits/{(string)paid["uuid"]!}", location);
        Assert.Equal("L.good", (string)(await bob.GetAsync(location!))["state"]!);

        (status, var invoice, location) = await PostAsync(adam, $"/api/tallies/{tally}/invoice", new { uuid = Guid.NewGuid(), units = 500 });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal($"/api/tallies/{tally}/chits/{(string)invoice["uuid"]!}", location);

        (status, var settings, location) = await PostAsync(adam, $"/api/tallies/{tally}/settings", adam.Settings(tally, "stock", new JsonObject { ["target"] = 10 }));
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal($"/api/tallies/{tally}/chits/{(string)settings["uuid"]!}", location);
    }

    [Fact]
    public async Task Refusals_of_route_values_query_strings_and_json_members_never_name_dotnet_types()
    {
        await using var site = await ApiSite.StartAsync(server, "typenames");
        using var adam = await site.AddUserAsync("adam");
        var tally = Guid.Parse((string)(await adam.PostAsync("/api/tallies", new { type = "stock" }))["uuid"]!);

        var refusals = new List<(string What, HttpStatusCode Status, JsonObject Body)>();
        async Task Refused(string what, HttpMethod method, string path, object? body = null)
        {
            var (status, json) = await adam.SendAsync(method, path, body);
            refusals.Add((what, status, json));
        }

        await Refused("route tally", HttpMethod.Get, "/api/tallies/not-a-uuid");
        await Refused("route chit", HttpMethod.Get, $"/api/tallies/{tally}/chits/12345");
        await Refused("ws since", HttpMethod.Get, "/api/ws?since=yesterday");
        await Refused("ws since negative", HttpMethod.Get, "/api/ws?since=-1");
        await Refused("tally type", HttpMethod.Post, "/api/tallies", """{"type":7}""");
        await Refused("terms", HttpMethod.Patch, $"/api/tallies/{tally}", """{"holdTerms":"lots"}""");
        await Refused("invite minutes", HttpMethod.Post, $"/api/tallies/{tally}/invite", """{"expiresMinutes":"ten"}""");
        await Refused("units", HttpMethod.Post, $"/api/tallies/{tally}/invoice", $$"""{"uuid":"{{Guid.NewGuid()}}","units":"10"}""");
        await Refused("uuid", HttpMethod.Post, $"/api/tallies/{tally}/invoice", """{"uuid":42,"units":10}""");
        await Refused("login key", HttpMethod.Post, "/api/login/ticket", """{"user":"adam","token":"x","publicKey":"not a key"}""");
        await Refused("redeem chad", HttpMethod.Post, "/api/invitations/redeem", """{"token":"x","chad":[1]}""");

        Assert.All(refusals, r =>
        {
            Assert.True((int)r.Status is >= 400 and < 500, $"{r.What}: {(int)r.Status} {r.Body.ToJsonString()}");
            var message = (string?)r.Body["error"]?["message"];
            Assert.False(string.IsNullOrEmpty(message), $"{r.What}: {r.Body.ToJsonString()}");
            Assert.DoesNotContain("System.", message, StringComparison.Ordinal);
            Assert.DoesNotContain("JSON value could not be converted", message, StringComparison.Ordinal);
            Assert.DoesNotContain("Path: $", message, StringComparison.Ordinal);
        });
        Assert.Equal("invalid_field", (string)refusals.Single(r => r.What == "ws since").Body["error"]!["code"]!);
        Assert.Equal("invalid_field", (string)refusals.Single(r => r.What == "ws since negative").Body["error"]!["code"]!);
    }

    [Fact]
    public async Task Cli_refusals_of_malformed_option_values_name_the_option_never_a_dotnet_type_or_a_stack_trace()
    {
        var connectionString = await server.CreateDatabaseAsync("clitypes");
        foreach (var arguments in new[]
        {
            new[] { "user", "ticket", "carla", "--expires", "soon" },
            ["upgrade", "drain", "--older-than", "x"],
            ["upgrade", "drain", "--instance", "not-a-uuid"],
            ["upgrade", "drain", "--older-than", "3", "--timeout", "1.5"],
        })
        {
            var (code, output) = await MyChipsProcess.RunAsync([.. arguments, "--db", connectionString]);
            var what = string.Join(' ', arguments);
            Assert.True(code == 1, $"{what}: exit {code}\n{output}");
            Assert.Contains(arguments[^2], output, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        }
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body, string? Location)> PostAsync(ApiUser user, string path, object body)
    {
        using var response = await user.Http.PostAsJsonAsync(path, body);
        return (response.StatusCode, await ApiUser.ReadAsync(response), response.Headers.Location?.OriginalString);
    }
}
