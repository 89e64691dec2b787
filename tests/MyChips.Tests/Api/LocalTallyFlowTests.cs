using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>
/// The issue's acceptance path over real HTTP and PostgreSQL: two users of one site, ticket and signed login,
/// invitation, offer, accept, 100 payments each way, an invoice approved and one refused, a settings chit, close;
/// balances, hash chains and every signature checked at each step; pushes over the WebSocket.
/// </summary>
[Collection(UserApiCollection.Name)]
public sealed class LocalTallyFlowTests(PostgresServer server)
{
    [Fact]
    public async Task Two_users_open_a_tally_pay_100_times_each_way_invoice_settle_and_close_with_verified_chains_and_signatures()
    {
        await using var site = await ApiSite.StartAsync(server, "flow");
        using var adam = await site.AddUserAsync("adam", UserKeyCurve.P256);
        using var bob = await site.AddUserAsync("bob", UserKeyCurve.P521);

        // Signed login: a server nonce signed with the key the ticket registered gives a new session.
        var challenge = await adam.PostAsync("/api/login/challenge", new { user = "adam" });
        var nonce = (string)challenge["nonce"]!;
        var session = await adam.PostAsync("/api/login/signed", new { user = "adam", nonce, signature = adam.Sign(LoginChallenge.SignedBytes("adam", nonce)) });
        adam.UseToken((string)session["token"]!);
        var replay = await adam.SendAsync(HttpMethod.Post, "/api/login/signed", new { user = "adam", nonce, signature = adam.Sign(LoginChallenge.SignedBytes("adam", nonce)) });
        Assert.Equal(HttpStatusCode.Unauthorized, replay.Status);

        using var bobPush = new ClientWebSocket();
        bobPush.Options.SetRequestHeader("Authorization", "Bearer " + bob.Token);
        await bobPush.ConnectAsync(new Uri(new Uri(site.BaseAddress, "/api/ws").ToString().Replace("http://", "ws://", StringComparison.Ordinal)), CancellationToken.None);
        var pushed = new List<JsonObject>();
        var reader = ReadPushesAsync(bobPush, pushed);

        // Invitation, offer, counter-offer, accept.
        var draft = await adam.PostAsync("/api/tallies", new { type = "stock", memo = "Café ☕ tally", holdTerms = new JsonObject { ["limit"] = 5_000_000 } });
        var tally = Guid.Parse((string)draft["uuid"]!);
        Assert.Equal("draft", (string)draft["state"]!);
        var invitation = await adam.PostAsync($"/api/tallies/{tally}/invite");
        await bob.OkAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"] });
        var again = await bob.SendAsync(HttpMethod.Post, "/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"] });
        Assert.Equal("invalid_invitation", (string)again.Body["error"]!["code"]!); // single use
        var pdraft = await adam.GetAsync($"/api/tallies/{tally}");
        Assert.Equal("P.draft", (string)pdraft["state"]!);
        await adam.PostAsync($"/api/tallies/{tally}/offer", new { signature = adam.SignTally((JsonObject)pdraft["json"]!) });
        Assert.Equal("H.offer", (string)(await adam.GetAsync($"/api/tallies/{tally}"))["state"]!);
        var offered = await bob.GetAsync($"/api/tallies/{tally}");
        Assert.Equal("P.offer", (string)offered["state"]!);
        Assert.Equal("foil", (string)offered["type"]!);
        Assert.True(JsonNode.DeepEquals(pdraft["json"], offered["json"]), "both halves carry the same tally JSON");

        // Bob counters: he grants adam credit too, and offers revision 2.
        var revised = await bob.PostAsync($"/api/tallies/{tally}/revise");
        Assert.Equal("P.draft", (string)revised["state"]!);
        Assert.Equal(2, (int)revised["revision"]!);
        var edited = await bob.OkAsync(HttpMethod.Patch, $"/api/tallies/{tally}", new { holdTerms = new JsonObject { ["limit"] = 5_000_000 } });
        await bob.PostAsync($"/api/tallies/{tally}/offer", new { signature = bob.SignTally((JsonObject)edited["json"]!) });
        var countered = await adam.GetAsync($"/api/tallies/{tally}");
        Assert.Equal("P.offer", (string)countered["state"]!);
        var open = await adam.PostAsync($"/api/tallies/{tally}/accept", new { signature = adam.SignTally((JsonObject)countered["json"]!) });
        Assert.Equal("open", (string)open["state"]!);
        var bobOpen = await bob.GetAsync($"/api/tallies/{tally}");
        Assert.Equal("open", (string)bobOpen["state"]!);
        VerifyTally(open, adam, bob);
        VerifyTally(bobOpen, adam, bob);
        Assert.Equal((string)open["digest"]!, (string)bobOpen["digest"]!);
        Assert.Equal(Base64Url.Encode(TallyJson.Digest((JsonObject)open["json"]!)), (string)open["digest"]!);
        Assert.Equal(0, (int)bobOpen["chainConf"]!);

        // 100 payments each way, alternating; balances and both chains verified after every one.
        long adamNet = 0;
        for (var i = 1; i <= 200; i++)
        {
            var fromAdam = i % 2 == 1;
            var (payer, side) = fromAdam ? (adam, "stock") : (bob, "foil");
            var units = 1000L + i;
            var chit = await payer.PostAsync($"/api/tallies/{tally}/pay", payer.Payment(tally, side, units, memo: $"payment {i} ü"));
            Assert.Equal("L.good", (string)chit["state"]!);
            VerifyChit(chit, payer);
            adamNet += fromAdam ? -units : units;
            var a = await adam.GetAsync($"/api/tallies/{tally}");
            var b = await bob.GetAsync($"/api/tallies/{tally}");
            Assert.Equal(adamNet, (long)a["net"]!);
            Assert.Equal(-adamNet, (long)b["net"]!);
            Assert.Equal(i, (int)a["chainIndex"]!);
            Assert.Equal(i, (int)b["chainIndex"]!);
            Assert.Equal(i, (int)a["chainConf"]!);
            Assert.Equal(i, (int)b["chainConf"]!);
            await AssertChainsAsync(site, tally, i);
        }

        var received = await bob.GetAsync($"/api/tallies/{tally}/chits/{(await adam.ListAsync($"/api/tallies/{tally}/chits"))[0]!["uuid"]}");
        Assert.Equal("A.good", (string)received["state"]!);
        VerifyChit(received, adam);

        // An invoice from adam that bob approves, one he refuses.
        var invoiceId = Guid.NewGuid();
        var invoice = await adam.PostAsync($"/api/tallies/{tally}/invoice", new { uuid = invoiceId, units = 7000, memo = "Consulting", @ref = new JsonObject { ["invoice"] = "A-17" } });
        Assert.Equal("A.pend", (string)invoice["state"]!);
        var pending = await bob.GetAsync($"/api/tallies/{tally}/chits/{invoiceId}");
        Assert.Equal("L.pend", (string)pending["state"]!);
        Assert.Equal(-adamNet - 7000, (long)(await bob.GetAsync($"/api/tallies/{tally}"))["netPending"]!);
        var core = ChitJson.Core(tally, "foil", "tran", invoiceId, ChipTimestamp.Parse((string)pending["date"]!), 7000, pending["ref"], "Consulting");
        var approved = await bob.PostAsync($"/api/tallies/{tally}/chits/{invoiceId}/approve", new { signature = bob.Sign(ChitJson.SignedBytes(core)) });
        Assert.Equal("L.good", (string)approved["state"]!);
        VerifyChit(approved, bob);
        Assert.Equal("A.good", (string)(await adam.GetAsync($"/api/tallies/{tally}/chits/{invoiceId}"))["state"]!);
        adamNet += 7000;
        await AssertChainsAsync(site, tally, 201);

        var refusedId = Guid.NewGuid();
        await adam.PostAsync($"/api/tallies/{tally}/invoice", new { uuid = refusedId, units = 9000 });
        var refused = await bob.PostAsync($"/api/tallies/{tally}/chits/{refusedId}/refuse");
        Assert.Equal("L.void", (string)refused["state"]!);
        Assert.Equal("A.void", (string)(await adam.GetAsync($"/api/tallies/{tally}/chits/{refusedId}"))["state"]!);
        var afterRefusal = await adam.GetAsync($"/api/tallies/{tally}");
        Assert.Equal(adamNet, (long)afterRefusal["net"]!);
        Assert.Equal(adamNet, (long)afterRefusal["netPending"]!);

        // Settings: bob sets his trading variables; adam's half records them as the partner's only.
        var settings = await bob.PostAsync($"/api/tallies/{tally}/settings",
            bob.Settings(tally, "foil", new JsonObject { ["target"] = 1000, ["bound"] = 50_000, ["reward"] = 0.01, ["clutch"] = 0 }));
        Assert.Equal("L.good", (string)settings["state"]!);
        VerifyChit(settings, bob);
        var bobSet = await bob.GetAsync($"/api/tallies/{tally}");
        Assert.Equal(50_000, (long)bobSet["bound"]!);
        Assert.Equal(0.01m, (decimal)bobSet["reward"]!);
        var adamSet = await adam.GetAsync($"/api/tallies/{tally}");
        Assert.Equal(0, (long)adamSet["bound"]!);
        Assert.Equal(50_000, (long)adamSet["partSets"]!["bound"]!);
        await AssertChainsAsync(site, tally, 202);

        // Balances per user.
        var adamBalance = await adam.GetAsync("/api/balance");
        Assert.Equal(adamNet, (long)adamBalance["net"]!);
        Assert.Equal(-adamNet, (long)(await bob.GetAsync("/api/balance"))["net"]!);

        // Close: adam's signed close chit closes both halves; no more payments.
        var close = await adam.PostAsync($"/api/tallies/{tally}/settings", adam.Settings(tally, "stock", new JsonObject { ["close"] = true }));
        VerifyChit(close, adam);
        Assert.Equal("close", (string)(await adam.GetAsync($"/api/tallies/{tally}"))["state"]!);
        Assert.Equal("close", (string)(await bob.GetAsync($"/api/tallies/{tally}"))["state"]!);
        await AssertChainsAsync(site, tally, 203);
        var late = await bob.SendAsync(HttpMethod.Post, $"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 5));
        Assert.Equal(HttpStatusCode.Conflict, late.Status);
        Assert.Equal("invalid_state_transition", (string)late.Body["error"]!["code"]!);

        // Bob's socket saw the offer, payments received and balance changes, and only his own events.
        await Wait.UntilAsync(() => { lock (pushed) return pushed.Any(e => (string?)e["type"] == "tally" && (string?)e["state"] == "close"); },
            TimeSpan.FromSeconds(10), "bob is told the tally closed");
        lock (pushed)
        {
            Assert.Contains(pushed, e => (string?)e["type"] == "tally" && (string?)e["state"] == "P.offer");
            Assert.Equal(100, pushed.Count(e => (string?)e["type"] == "chit" && (string?)e["state"] == "A.good" && (string?)e["chitType"] == "tran"));
            Assert.Contains(pushed, e => (string?)e["type"] == "chit" && (string?)e["state"] == "L.pend");
            Assert.Contains(pushed, e => (string?)e["type"] == "balance");
            Assert.All(pushed.Where(e => e["tally"] is not null), e => Assert.Equal(tally.ToString(), (string?)e["tally"]));
        }

        await bobPush.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        await reader;
    }

    [Fact]
    public async Task The_cli_adds_a_user_and_issues_a_ticket_that_logs_in_once()
    {
        var connectionString = await server.CreateDatabaseAsync("cli");
        var (code, output) = await MyChipsProcess.RunAsync(["user", "add", "--name", "Carla Cruz", "--cuid", "carla", "--db", connectionString]);
        Assert.True(code == 0, output);
        Assert.Contains("Added user carla", output);
        (code, output) = await MyChipsProcess.RunAsync(["user", "ticket", "carla", "--expires", "10", "--db", connectionString]);
        Assert.True(code == 0, output);
        var json = JsonNode.Parse(output.Split('\n').First(l => l.StartsWith("{\"ticket\"", StringComparison.Ordinal)))!["ticket"]!;
        Assert.Contains("/ticket?user=carla&token=", output);
        var token = (string)json["token"]!;
        Assert.True(Base64Url.Decode(token).Length >= 16);

        await using (var connection = new Npgsql.NpgsqlConnection(connectionString))
        {
            var expires = await connection.ExecuteScalarAsync<DateTime>("SELECT expires_at FROM mychips.tokens WHERE purpose = 'login'");
            Assert.InRange(expires - DateTime.UtcNow, TimeSpan.FromMinutes(8), TimeSpan.FromMinutes(10.5));
            var hashes = await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM mychips.tokens WHERE token_hash = @h", new { h = SecretToken.Hash(token) });
            Assert.Equal(1, hashes); // stored hashed, never in clear
            Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM mychips.agent_keys")); // the agent key was created
        }

        // The ticket logs carla in once; the second redemption is refused.
        await using var site = await ApiSite.StartAsync(connectionString);
        using var http = new HttpClient { BaseAddress = site.BaseAddress };
        using var key = UserSigningKey.Generate(UserKeyCurve.P256);
        var login = new JsonObject { ["user"] = "carla", ["token"] = token, ["publicKey"] = key.ExportPublicJwk() }.ToJsonString();
        using var first = await http.PostAsync("/api/login/ticket", new StringContent(login, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.False(string.IsNullOrEmpty((string?)(await ApiUser.ReadAsync(first))["token"]));
        using var second = await http.PostAsync("/api/login/ticket", new StringContent(login, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
        Assert.Equal("invalid_ticket", (string)(await ApiUser.ReadAsync(second))["error"]!["code"]!);

        (code, output) = await MyChipsProcess.RunAsync(["user", "add", "--name", "Again", "--cuid", "carla", "--db", connectionString]);
        Assert.Equal(1, code);
        Assert.Contains("[user_exists]", output);
    }

    private static void VerifyTally(JsonObject view, ApiUser stock, ApiUser foil)
    {
        var bytes = TallyJson.SignedBytes((JsonObject)view["json"]!);
        using var stockKey = UserPublicKey.FromJwk(view["json"]!["stock"]!["cert"]!["public"]!);
        using var foilKey = UserPublicKey.FromJwk(view["json"]!["foil"]!["cert"]!["public"]!);
        Assert.True(stockKey.Verify(bytes, Base64Url.Decode((string)view["sign"]!["stock"]!)), "stock signature");
        Assert.True(foilKey.Verify(bytes, Base64Url.Decode((string)view["sign"]!["foil"]!)), "foil signature");
        Assert.True(JsonNode.DeepEquals(stock.Key.ExportPublicJwk(), view["json"]!["stock"]!["cert"]!["public"]));
        Assert.True(JsonNode.DeepEquals(foil.Key.ExportPublicJwk(), view["json"]!["foil"]!["cert"]!["public"]));
    }

    private static void VerifyChit(JsonObject view, ApiUser issuer)
    {
        var core = ChitJson.Core(Guid.Parse((string)view["tally"]!), (string)view["by"]!, (string)view["type"]!, Guid.Parse((string)view["uuid"]!),
            ChipTimestamp.Parse((string)view["date"]!), (long?)view["units"], view["ref"], (string?)view["memo"]);
        Assert.True(issuer.Key.PublicKey.Verify(ChitJson.SignedBytes(core), Base64Url.Decode((string)view["sign"]!)), "chit signature");
        Assert.Equal(Base64Url.Encode(ChitJson.Digest(core)), (string)view["hash"]!);
    }

    private static async Task AssertChainsAsync(ApiSite site, Guid tally, int length)
    {
        var stock = await site.VerifyChainAsync(tally, "stock");
        var foil = await site.VerifyChainAsync(tally, "foil");
        Assert.True(stock.Valid, stock.Problem);
        Assert.True(foil.Valid, foil.Problem);
        Assert.Equal(length, stock.Length);
        Assert.Equal(stock.Head, foil.Head); // both halves hold the same chain
    }

    private static async Task ReadPushesAsync(ClientWebSocket socket, List<JsonObject> into)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                    return;
                var message = (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count))!;
                lock (into)
                    into.Add(message);
            }
        }
        catch (WebSocketException)
        {
        }
    }
}
