using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using MyChips.Data.Crypto;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>
/// Every class of bad input gets a 4xx with a stable code and a message, and changes nothing in the database;
/// repeated requests are harmless. One site and one open tally (adam stock, bob foil) for the whole class.
/// </summary>
[Collection(BadInputCollection.Name)]
public sealed class BadInputTests(PostgresServer server) : IAsyncLifetime
{
    private ApiSite _site = null!;
    private ApiUser _adam = null!;
    private ApiUser _bob = null!;
    private ApiUser _carol = null!;
    private Guid _tally;

    public async Task InitializeAsync()
    {
        // One user sends many bad redeems here: above the per-user redeem limit, which RateLimitTests covers.
        _site = await ApiSite.StartAsync(server, "bad", new Dictionary<string, string?> { ["RateLimit:RedeemPerMinute"] = "1000" });
        _adam = await _site.AddUserAsync("adam");
        _bob = await _site.AddUserAsync("bob");
        _carol = await _site.AddUserAsync("carol");
        _tally = await TallySetup.OpenAsync(_adam, _bob, stockGrants: 50_000, foilGrants: 50_000);
        await _adam.PostAsync($"/api/tallies/{_tally}/pay", _adam.Payment(_tally, "stock", 1000));
    }

    public async Task DisposeAsync()
    {
        _adam.Dispose();
        _bob.Dispose();
        _carol.Dispose();
        await _site.DisposeAsync();
    }

    [Fact]
    public async Task Malformed_json_is_refused_with_malformed_json()
    {
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", "{\"uuid\": ", HttpStatusCode.BadRequest, "malformed_json");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", "", HttpStatusCode.BadRequest, "malformed_json");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", "[1,2]", HttpStatusCode.BadRequest, "malformed_json");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", "{\"type\":\"stock\",}", HttpStatusCode.BadRequest, "malformed_json");
    }

    [Fact]
    public async Task Unknown_fields_are_refused_with_unknown_field()
    {
        var payment = JsonObjectOf(_adam.Payment(_tally, "stock", 10));
        payment["bonus"] = 5;
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", payment.ToJsonString(), HttpStatusCode.BadRequest, "unknown_field");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", "{\"type\":\"stock\",\"colour\":\"red\"}", HttpStatusCode.BadRequest, "unknown_field");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/settings",
            JsonObjectOf(_adam.Settings(_tally, "stock", new JsonObject { ["speed"] = 1 })).ToJsonString(), HttpStatusCode.BadRequest, "unknown_field");
    }

    [Fact]
    public async Task Missing_or_null_required_fields_are_refused_with_missing_field()
    {
        var payment = JsonObjectOf(_adam.Payment(_tally, "stock", 10));
        payment.Remove("signature");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", payment.ToJsonString(), HttpStatusCode.BadRequest, "missing_field");
        payment["signature"] = null;
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", payment.ToJsonString(), HttpStatusCode.BadRequest, "missing_field");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/login/challenge", "{}", HttpStatusCode.BadRequest, "missing_field");
    }

    [Fact]
    public async Task Bad_signatures_are_refused_with_bad_signature()
    {
        var payment = JsonObjectOf(_adam.Payment(_tally, "stock", 10));
        payment["units"] = 11; // signed 10
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", payment.ToJsonString(), HttpStatusCode.BadRequest, "bad_signature");
        payment = JsonObjectOf(_adam.Payment(_tally, "stock", 10));
        payment["signature"] = "not-a-signature";
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", payment.ToJsonString(), HttpStatusCode.BadRequest, "bad_signature");
        var signedByBob = JsonObjectOf(_bob.Payment(_tally, "stock", 10)); // bob signs as if he were the stock
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", signedByBob.ToJsonString(), HttpStatusCode.BadRequest, "bad_signature");

        var draft = await _adam.PostAsync("/api/tallies", new { type = "foil" });
        var tally = (string)draft["uuid"]!;
        var invitation = await _adam.PostAsync($"/api/tallies/{tally}/invite");
        await _carol.OkAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"] });
        var json = (JsonObject)(await _adam.GetAsync($"/api/tallies/{tally}"))["json"]!;
        json["memo"] = "something else";
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{tally}/offer", new JsonObject { ["signature"] = _adam.SignTally(json) }.ToJsonString(),
            HttpStatusCode.BadRequest, "bad_signature");
    }

    [Fact]
    public async Task Wrong_state_transitions_are_refused_with_invalid_state_transition()
    {
        var accept = new JsonObject { ["signature"] = "AAAA" }.ToJsonString();
        await RefusedAsync(_bob, HttpMethod.Post, $"/api/tallies/{_tally}/refuse", null, HttpStatusCode.Conflict, "invalid_state_transition");
        await RefusedAsync(_bob, HttpMethod.Post, $"/api/tallies/{_tally}/revise", null, HttpStatusCode.Conflict, "invalid_state_transition");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/invite", null, HttpStatusCode.Conflict, "invalid_state_transition");
        await RefusedAsync(_adam, HttpMethod.Patch, $"/api/tallies/{_tally}", "{\"memo\":\"x\"}", HttpStatusCode.Conflict, "invalid_state_transition");
        var chit = (string)(await _bob.ListAsync($"/api/tallies/{_tally}/chits"))[0]!["uuid"]!; // A.good for bob
        await RefusedAsync(_bob, HttpMethod.Post, $"/api/tallies/{_tally}/chits/{chit}/approve", accept, HttpStatusCode.Conflict, "invalid_state_transition");
        await RefusedAsync(_bob, HttpMethod.Post, $"/api/tallies/{_tally}/chits/{chit}/refuse", null, HttpStatusCode.Conflict, "invalid_state_transition");

        var draft = await _adam.PostAsync("/api/tallies", new { type = "stock" });
        var tally = Guid.Parse((string)draft["uuid"]!);
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{tally}/pay", JsonObjectOf(_adam.Payment(tally, "stock", 5)).ToJsonString(),
            HttpStatusCode.Conflict, "invalid_state_transition");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{tally}/accept", accept, HttpStatusCode.Conflict, "invalid_state_transition");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{tally}/offer", accept, HttpStatusCode.Conflict, "invalid_state_transition");
    }

    [Fact]
    public async Task Amounts_out_of_range_and_beyond_the_limit_are_refused()
    {
        foreach (var units in new[] { 0L, -1L, 9_007_199_254_740_992L, long.MaxValue })
        {
            await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", JsonObjectOf(_adam.Payment(_tally, "stock", units)).ToJsonString(),
                HttpStatusCode.BadRequest, "amount_out_of_range");
        }

        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/invoice", $"{{\"uuid\":\"{Guid.NewGuid()}\",\"units\":0}}", HttpStatusCode.BadRequest, "amount_out_of_range");
        var fractional = JsonObjectOf(_adam.Payment(_tally, "stock", 10));
        fractional["units"] = 1.5;
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", fractional.ToJsonString(), HttpStatusCode.BadRequest, "invalid_field");
        var text = JsonObjectOf(_adam.Payment(_tally, "stock", 10));
        text["units"] = "10";
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", text.ToJsonString(), HttpStatusCode.BadRequest, "invalid_field");
        // adam already paid 1000; bob grants him 50,000.
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", JsonObjectOf(_adam.Payment(_tally, "stock", 49_001)).ToJsonString(),
            HttpStatusCode.Conflict, "limit_exceeded");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", "{\"type\":\"stock\",\"holdTerms\":{\"limit\":-5}}", HttpStatusCode.BadRequest, "amount_out_of_range");
    }

    [Fact]
    public async Task Nul_characters_in_text_are_refused_with_invalid_field()
    {
        // PostgreSQL stores no U+0000 in text or jsonb: these used to fail inside the transaction as a 500.
        const string nul = "a\\u0000b";
        await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", $"{{\"type\":\"stock\",\"memo\":\"{nul}\"}}", HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", $"{{\"type\":\"stock\",\"holdTerms\":{{\"x\":\"{nul}\"}}}}", HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", $"{{\"type\":\"stock\",\"holdTerms\":{{\"{nul}\":1}}}}", HttpStatusCode.BadRequest, "invalid_field");
        var draft = (string)(await _adam.PostAsync("/api/tallies", new { type = "stock" }))["uuid"]!;
        await RefusedAsync(_adam, HttpMethod.Patch, $"/api/tallies/{draft}", $"{{\"memo\":\"{nul}\"}}", HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_bob, HttpMethod.Post, $"/api/tallies/{_tally}/invoice", $"{{\"uuid\":\"{Guid.NewGuid()}\",\"units\":5,\"memo\":\"{nul}\"}}",
            HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_bob, HttpMethod.Post, $"/api/tallies/{_tally}/invoice", $"{{\"uuid\":\"{Guid.NewGuid()}\",\"units\":5,\"ref\":{{\"k\":\"{nul}\"}}}}",
            HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_carol, HttpMethod.Post, "/api/invitations/redeem",
            $"{{\"token\":\"{nul}\",\"chad\":{{\"cuid\":\"adam\",\"agent\":\"{await AgentIdAsync()}\"}}}}", HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/login/challenge", $"{{\"user\":\"{nul}\"}}", HttpStatusCode.BadRequest, "invalid_field");
        // An escaped backslash followed by "u0000" is ordinary text.
        var memo = await _adam.OkAsync(HttpMethod.Patch, $"/api/tallies/{draft}", "{\"memo\":\"a\\\\u0000b\"}");
        Assert.Equal("a\\u0000b", (string?)memo["memo"]);
    }

    [Fact]
    public async Task Lone_surrogate_escapes_are_refused_with_invalid_field()
    {
        var payment = JsonObjectOf(_adam.Payment(_tally, "stock", 10)).ToJsonString();
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", payment.Replace("\"memo\":null", "\"memo\":\"\\ud800\"", StringComparison.Ordinal),
            HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", payment.Replace("\"ref\":null", "\"ref\":{\"\\udc00\":1}", StringComparison.Ordinal),
            HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", "{\"type\":\"stock\",\"holdTerms\":{\"\\ud800\":1}}", HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", "{\"type\":\"stock\",\"memo\":\"\\ud800\"}", HttpStatusCode.BadRequest, "invalid_field");
    }

    [Fact]
    public async Task Duplicate_member_names_are_refused_with_invalid_field()
    {
        // Anonymous: a second "user", and a JWK with two "kty" members (that one used to be a 500 with a stack trace).
        using var anonymous = new HttpClient { BaseAddress = _site.BaseAddress };
        var jwk = _adam.Key.ExportPublicJwk().ToJsonString();
        var token = SecretToken();
        foreach (var body in new[]
                 {
                     $"{{\"user\":\"adam\",\"user\":\"bob\",\"token\":\"{token}\",\"publicKey\":{jwk}}}",
                     $"{{\"user\":\"adam\",\"token\":\"{token}\",\"publicKey\":{jwk.Replace("{", "{\"kty\":\"EC\",", StringComparison.Ordinal)}}}",
                 })
        {
            var before = await SnapshotAsync();
            using var response = await anonymous.PostAsync("/api/login/ticket", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            var json = await ApiUser.ReadAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"expected 400, got {(int)response.StatusCode} {json.ToJsonString()}");
            Assert.Equal("invalid_field", (string?)json["error"]?["code"]);
            var message = (string?)json["error"]?["message"];
            Assert.False(string.IsNullOrWhiteSpace(message));
            Assert.DoesNotContain("System.", message, StringComparison.Ordinal);
            Assert.DoesNotContain("MyChips.", message, StringComparison.Ordinal);
            Assert.Equal(before, await SnapshotAsync());
        }

        // Authenticated: at the top level, in an opaque member (ref, terms), and deeper inside one.
        var payment = JsonObjectOf(_adam.Payment(_tally, "stock", 10)).ToJsonString();
        string Edit(string from, string to)
        {
            Assert.Contains(from, payment, StringComparison.Ordinal);
            return payment.Replace(from, to, StringComparison.Ordinal);
        }

        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", Edit("\"units\":10", "\"units\":10,\"units\":11"), HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", Edit("\"ref\":null", "\"ref\":{\"a\":1,\"a\":2}"), HttpStatusCode.BadRequest, "invalid_field");
        await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", "{\"type\":\"stock\",\"holdTerms\":{\"limit\":5,\"x\":[{\"k\":1,\"k\":1}]}}",
            HttpStatusCode.BadRequest, "invalid_field");
    }

    [Fact]
    public async Task Settings_numbers_that_would_differ_between_signature_digest_and_storage_are_refused_with_invalid_field()
    {
        // 1e-400 signs as 0 but hashes and stores 400 decimals; 1.0000000000000000000000000001 signs as 1 but broke the
        // column's [-1, 1] check (a 500); 0e-20000 is beyond what jsonb can hold; 1e400 signs as null.
        foreach (var (key, literal) in new[] { ("reward", "1e-400"), ("clutch", "1.0000000000000000000000000001"), ("reward", "0e-20000"), ("clutch", "1e400") })
        {
            var body = JsonObjectOf(_adam.Settings(_tally, "stock", (JsonObject)JsonNode.Parse($"{{\"{key}\":{literal}}}")!)).ToJsonString();
            Assert.Contains($"\"{key}\":{literal}", body, StringComparison.Ordinal);
            await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/settings", body, HttpStatusCode.BadRequest, "invalid_field");
        }

        // An exact number written with an exponent is taken: stored as numeric, kept in jsonb as 0.005, and the chain
        // re-read from the database hashes as it did when the chit was made.
        await _adam.PostAsync($"/api/tallies/{_tally}/settings", _adam.Settings(_tally, "stock", (JsonObject)JsonNode.Parse("{\"reward\":5e-3}")!));
        await using (var connection = await _site.OpenAsync())
        {
            Assert.Equal(0.005m, await connection.ExecuteScalarAsync<decimal>(
                "SELECT reward FROM mychips.tallies WHERE tally_uuid = @t AND tally_type = 'stock'", new { t = _tally }));
        }

        foreach (var side in new[] { "stock", "foil" })
        {
            var chain = await _site.VerifyChainAsync(_tally, side);
            Assert.True(chain.Valid, chain.Problem);
        }
    }

    [Fact]
    public async Task Numbers_beyond_what_jsonb_can_hold_are_refused_with_invalid_field()
    {
        // PostgreSQL numeric holds at most 131072 digits before the point and 16383 after: these used to be 500s.
        foreach (var literal in new[] { "1e200000", "1e-20000", "0e99999999" })
        {
            var payment = JsonObjectOf(_adam.Payment(_tally, "stock", 10, reference: JsonNode.Parse($"{{\"x\":{literal}}}"))).ToJsonString();
            Assert.Contains(literal, payment, StringComparison.Ordinal);
            await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", payment, HttpStatusCode.BadRequest, "invalid_field");
            await RefusedAsync(_adam, HttpMethod.Post, "/api/tallies", $"{{\"type\":\"stock\",\"holdTerms\":{{\"x\":[{literal}]}}}}", HttpStatusCode.BadRequest, "invalid_field");
        }
    }

    [Fact]
    public async Task Refusal_messages_name_the_member_never_a_dotnet_type()
    {
        var payment = JsonObjectOf(_adam.Payment(_tally, "stock", 10));
        var unknown = (JsonObject)payment.DeepClone();
        unknown["bonus"] = 5;
        var missing = (JsonObject)payment.DeepClone();
        missing.Remove("signature");
        var nulled = (JsonObject)payment.DeepClone();
        nulled["signature"] = null;
        var wrongType = (JsonObject)payment.DeepClone();
        wrongType["units"] = "10";
        foreach (var (body, code, member) in new[]
                 {
                     (unknown.ToJsonString(), "unknown_field", "bonus"), (missing.ToJsonString(), "missing_field", "signature"),
                     (nulled.ToJsonString(), "missing_field", "signature"), (wrongType.ToJsonString(), "invalid_field", "units"),
                     ("[1]", "malformed_json", null),
                 })
        {
            var (status, json) = await _adam.SendAsync(HttpMethod.Post, $"/api/tallies/{_tally}/pay", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(code, (string?)json["error"]?["code"]);
            var message = (string)json["error"]!["message"]!;
            foreach (var leak in new[] { "MyChips.", "System.", ".NET", "type '" })
                Assert.DoesNotContain(leak, message, StringComparison.Ordinal);
            if (member is not null)
                Assert.Contains(member, message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_challenge_for_an_unknown_user_looks_like_one_for_a_known_user()
    {
        // Known users' expiries come from PostgreSQL (microseconds); the stand-in for unknown ones had .NET's seven
        // fraction digits, which told who has an account. Several tries: a stand-in ends in 0 one time in ten.
        foreach (var user in new[] { "adam", "nobody-here", "nobody-here", "nobody-here", "nobody-here", "nobody-here" })
        {
            using var response = await _adam.Http.PostAsync("/api/login/challenge",
                new StringContent(new JsonObject { ["user"] = user }.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var expires = (string)(await ApiUser.ReadAsync(response))["expires"]!;
            var fraction = System.Text.RegularExpressions.Regex.Match(expires, @"\.(\d+)").Groups[1].Value;
            Assert.True(fraction.Length <= 6, $"{user}: {expires}");
        }
    }

    [Fact]
    public async Task A_chunked_body_over_the_cap_is_refused_with_body_too_large()
    {
        var before = await SnapshotAsync();
        var body = System.Text.Encoding.UTF8.GetBytes("{\"type\":\"stock\",\"memo\":\"" + new string('x', 200_000) + "\"}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/tallies") { Content = new StreamContent(new MemoryStream(body)) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TransferEncodingChunked = true;
        using var response = await _adam.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("body_too_large", (string?)(await ApiUser.ReadAsync(response))["error"]?["code"]);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Redeeming_with_a_chad_the_site_cannot_route_to_is_refused_with_invalid_field()
    {
        // Each used to reach the agents check constraints inside the transaction and answer 500.
        var agent = new string('A', 43);
        foreach (var chad in new[]
        {
            new JsonObject { ["cuid"] = "adam", ["agent"] = "x" },
            new JsonObject { ["cuid"] = "adam", ["agent"] = new string('A', 44) },
            new JsonObject { ["cuid"] = "adam", ["agent"] = new string('+', 43) },
            new JsonObject { ["cuid"] = "adam", ["agent"] = agent, ["port"] = -1 },
            new JsonObject { ["cuid"] = "adam", ["agent"] = agent, ["port"] = 0 },
            new JsonObject { ["cuid"] = "adam", ["agent"] = agent, ["port"] = 65536 },
            new JsonObject { ["cuid"] = "adam", ["agent"] = agent, ["host"] = "" },
            new JsonObject { ["cuid"] = "adam", ["agent"] = agent, ["host"] = new string('h', 254) },
            new JsonObject { ["cuid"] = "", ["agent"] = agent },
            new JsonObject { ["cuid"] = "no spaces", ["agent"] = agent },
            new JsonObject { ["cuid"] = new string('c', 65), ["agent"] = agent },
        })
        {
            await RefusedAsync(_carol, HttpMethod.Post, "/api/invitations/redeem", new JsonObject { ["token"] = SecretToken(), ["chad"] = chad }.ToJsonString(),
                HttpStatusCode.BadRequest, "invalid_field");
        }
    }

    [Fact]
    public async Task Unknown_and_foreign_ids_are_not_found()
    {
        await RefusedAsync(_adam, HttpMethod.Get, $"/api/tallies/{Guid.NewGuid()}", null, HttpStatusCode.NotFound, "tally_not_found");
        await RefusedAsync(_adam, HttpMethod.Get, "/api/tallies/not-a-uuid", null, HttpStatusCode.NotFound, "tally_not_found");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{Guid.NewGuid()}/pay", JsonObjectOf(_adam.Payment(Guid.NewGuid(), "stock", 5)).ToJsonString(),
            HttpStatusCode.NotFound, "tally_not_found");
        await RefusedAsync(_adam, HttpMethod.Get, $"/api/tallies/{_tally}/chits/{Guid.NewGuid()}", null, HttpStatusCode.NotFound, "chit_not_found");
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/chits/{Guid.NewGuid()}/refuse", null, HttpStatusCode.NotFound, "chit_not_found");
        // Carol cannot see or touch adam's and bob's tally.
        await RefusedAsync(_carol, HttpMethod.Get, $"/api/tallies/{_tally}", null, HttpStatusCode.NotFound, "tally_not_found");
        await RefusedAsync(_carol, HttpMethod.Post, $"/api/tallies/{_tally}/pay", JsonObjectOf(_carol.Payment(_tally, "stock", 5)).ToJsonString(),
            HttpStatusCode.NotFound, "tally_not_found");
        Assert.Empty(await _carol.ListAsync($"/api/tallies/{_tally}/chits"));
        await RefusedAsync(_carol, HttpMethod.Post, "/api/invitations/redeem",
            new JsonObject { ["token"] = SecretToken(), ["chad"] = new JsonObject { ["cuid"] = "adam", ["agent"] = await AgentIdAsync() } }.ToJsonString(),
            HttpStatusCode.NotFound, "invalid_invitation");
    }

    [Fact]
    public async Task Missing_or_bad_credentials_are_unauthorized()
    {
        using var anonymous = new HttpClient { BaseAddress = _site.BaseAddress };
        var before = await SnapshotAsync();
        foreach (var token in new string?[] { null, "nope", SecretToken() })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/tallies");
            if (token is not null)
                request.Headers.Authorization = new("Bearer", token);
            using var response = await anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("unauthorized", (string)(await ApiUser.ReadAsync(response))["error"]!["code"]!);
        }

        using var ticket = await anonymous.PostAsync("/api/login/ticket", new StringContent(
            new JsonObject { ["user"] = "adam", ["token"] = SecretToken(), ["publicKey"] = _adam.Key.ExportPublicJwk() }.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, ticket.StatusCode);
        Assert.Equal("invalid_ticket", (string)(await ApiUser.ReadAsync(ticket))["error"]!["code"]!);
        var challenge = await _adam.PostAsync("/api/login/challenge", new { user = "adam" });
        using var forged = await anonymous.PostAsync("/api/login/signed", new StringContent(
            new JsonObject { ["user"] = "adam", ["nonce"] = (string)challenge["nonce"]!, ["signature"] = _bob.Sign(MyChips.Data.Domain.LoginChallenge.SignedBytes("adam", (string)challenge["nonce"]!)) }.ToJsonString(),
            System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Repeated_requests_are_harmless_and_reused_ids_are_refused()
    {
        var payment = JsonObjectOf(_adam.Payment(_tally, "stock", 250));
        var first = await _adam.PostAsync($"/api/tallies/{_tally}/pay", payment);
        var snapshot = await SnapshotAsync();
        var second = await _adam.PostAsync($"/api/tallies/{_tally}/pay", payment);
        Assert.Equal(first.ToJsonString(), second.ToJsonString());
        Assert.Equal(snapshot, await SnapshotAsync());

        var reused = JsonObjectOf(_adam.Payment(_tally, "stock", 251, uuid: Guid.Parse((string)payment["uuid"]!)));
        await RefusedAsync(_adam, HttpMethod.Post, $"/api/tallies/{_tally}/pay", reused.ToJsonString(), HttpStatusCode.Conflict, "duplicate_id");

        var tally = await _bob.GetAsync($"/api/tallies/{_tally}");
        var again = await _bob.PostAsync($"/api/tallies/{_tally}/accept", new { signature = (string)tally["sign"]!["foil"]! });
        Assert.Equal("open", (string)again["state"]!);
        Assert.Equal(snapshot, await SnapshotAsync());
    }

    private async Task RefusedAsync(ApiUser user, HttpMethod method, string path, string? body, HttpStatusCode status, string code)
    {
        var before = await SnapshotAsync();
        var (actual, json) = await user.SendAsync(method, path, body);
        Assert.True(status == actual, $"{method} {path}: expected {(int)status} {code}, got {(int)actual} {json.ToJsonString()}");
        Assert.Equal(code, (string?)json["error"]?["code"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)json["error"]?["message"]));
        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>Everything a refused request could have changed.</summary>
    private async Task<string> SnapshotAsync()
    {
        await using var connection = await _site.OpenAsync();
        return await connection.ExecuteScalarAsync<string>(
            """
            SELECT concat_ws('|',
              (SELECT string_agg(concat_ws(',', tally_id, status, request, revision, net, net_pending, chain_last, chain_conf, hold_sig, part_sig, md5(hold_terms::text), md5(coalesce(part_cert::text, '')),
                 reward, clutch, target, bound, md5(hold_sets::text), md5(part_sets::text)), ';' ORDER BY tally_id) FROM mychips.tallies),
              (SELECT string_agg(concat_ws(',', chit_id, status, chain_idx, signature), ';' ORDER BY chit_id) FROM mychips.chits),
              (SELECT count(*) FROM mychips.user_events), (SELECT count(*) FROM mychips.outbox),
              (SELECT string_agg(concat_ws(',', token_id, used_at), ';' ORDER BY token_id) FROM mychips.tokens WHERE purpose <> 'challenge'))
            """) ?? "";
    }

    private static JsonObject JsonObjectOf(object value) => System.Text.Json.JsonSerializer.SerializeToNode(value)!.AsObject();

    private static string SecretToken() => Base64Url.Encode(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private async Task<string> AgentIdAsync() =>
        (await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<MyChips.Data.Domain.SiteAgents>(_site.App.Services)
            .GetAsync(CancellationToken.None)).Id;
}
