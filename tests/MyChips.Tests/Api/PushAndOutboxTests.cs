using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>Push channels follow the authenticated identity; messages for another site's agent go to the outbox.</summary>
[Collection(UserApiCollection.Name)]
public sealed class PushAndOutboxTests(PostgresServer server)
{
    [Fact]
    public async Task A_socket_gets_only_its_own_users_events_and_needs_a_valid_token()
    {
        await using var site = await ApiSite.StartAsync(server, "push");
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");
        using var carol = await site.AddUserAsync("carol");
        var ws = new Uri(site.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal) + "api/ws");

        using (var anonymous = new ClientWebSocket())
        {
            var refused = await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(new Uri(ws + "?access_token=nope"), CancellationToken.None));
            Assert.Contains("401", refused.Message);
        }

        using var carolSocket = new ClientWebSocket();
        await carolSocket.ConnectAsync(new Uri(ws + "?access_token=" + carol.Token), CancellationToken.None);
        using var adamSocket = new ClientWebSocket();
        await adamSocket.ConnectAsync(new Uri(ws + "?access_token=" + adam.Token), CancellationToken.None);
        Assert.Equal("hello", (string)(await ReceiveAsync(carolSocket))!["type"]!);
        Assert.Equal("adam", (string)(await ReceiveAsync(adamSocket))!["user"]!);

        var tally = await TallySetup.OpenAsync(adam, bob);
        await bob.PostAsync($"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 1234));

        // adam hears about the payment he received; carol hears nothing at all.
        JsonObject? received = null;
        while (received is null)
        {
            var message = await ReceiveAsync(adamSocket) ?? throw new TimeoutException("adam was not told of the payment");
            if ((string?)message["type"] == "chit")
                received = message;
        }

        Assert.Equal("A.good", (string)received["state"]!);
        Assert.Equal(1234, (long)received["net"]!);
        Assert.Null(await ReceiveAsync(carolSocket, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task A_socket_opens_whatever_the_session_lifetime()
    {
        // The socket closes when the session expires; a lifetime past CancelAfter's limit (about 49.7 days) used to throw
        // after the upgrade, aborting the socket before its hello.
        await using var site = await ApiSite.StartAsync(server, "pushlong", new Dictionary<string, string?> { ["Domain:SessionLifetime"] = "60.00:00:00" });
        using var adam = await site.AddUserAsync("adam");
        var ws = new Uri(site.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal) + "api/ws?access_token=" + adam.Token);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(ws, CancellationToken.None);
        Assert.Equal("hello", (string)(await ReceiveAsync(socket))!["type"]!);
    }

    [Fact]
    public async Task Redeeming_another_sites_invitation_queues_a_ticket_message_in_the_outbox()
    {
        await using var site = await ApiSite.StartAsync(server, "outbox");
        using var dana = await site.AddUserAsync("dana");
        using var foreignKey = AgentKey.Generate();
        var chad = new JsonObject { ["cuid"] = "erin", ["agent"] = foreignKey.Id, ["host"] = "b.example.org", ["port"] = 65430 };

        var (status, body) = await dana.SendAsync(HttpMethod.Post, "/api/invitations/redeem", new JsonObject { ["token"] = "abc123", ["chad"] = chad }.ToJsonString());

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal("queued", (string)body["delivered"]!);
        await using var connection = await site.OpenAsync();
        var message = JsonNode.Parse(await connection.ExecuteScalarAsync<string>(
            "SELECT message::text FROM mychips.outbox WHERE peer_agent = @agent AND sent_at IS NULL", new { agent = foreignKey.Id }) ?? "null")!;
        Assert.Equal("tally", (string)message["target"]!);
        Assert.Equal("ticket", (string)message["action"]!);
        Assert.Equal("erin", (string)message["to"]!["cuid"]!);
        Assert.Equal("dana", (string)message["from"]!["cuid"]!);
        Assert.Equal("abc123", (string)message["ticket"]!["token"]!);
        Assert.True(JsonNode.DeepEquals(dana.Key.ExportPublicJwk(), message["ticket"]!["cert"]!["public"]));
    }

    [Fact]
    public async Task A_message_to_another_site_that_is_given_up_is_pushed_to_its_sender_as_delivery_failed()
    {
        // No outbox sender (peer off), so nothing else claims the row while the test gives it up.
        await using var site = await ApiSite.StartAsync(server, "gaveup", new Dictionary<string, string?> { ["Peer:Enabled"] = "false" });
        using var dana = await site.AddUserAsync("dana");
        using var erin = await site.AddUserAsync("erin");
        using var foreignKey = AgentKey.Generate();
        var ws = new Uri(site.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal) + "api/ws?access_token=" + dana.Token);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(ws, CancellationToken.None);
        Assert.Equal("hello", (string)(await ReceiveAsync(socket))!["type"]!);
        var chad = new JsonObject { ["cuid"] = "fay", ["agent"] = foreignKey.Id, ["host"] = "127.0.0.1", ["port"] = 9 };
        var (status, _) = await dana.SendAsync(HttpMethod.Post, "/api/invitations/redeem", new JsonObject { ["token"] = "gone", ["chad"] = chad }.ToJsonString());
        Assert.Equal(HttpStatusCode.Accepted, status);

        // As the outbox sender does after Peer:MaxTries tries without a receipt (0 here: give up what is due now).
        var given = await new OutboxStore(site.App.Services.GetRequiredService<MyChips.Data.SiteTransactions>()).GiveUpAsync(0, new NoReferencePeers(), CancellationToken.None);

        var row = Assert.Single(given);
        Assert.Equal(foreignKey.Id, row.PeerAgent);
        JsonObject? failure = null;
        for (var i = 0; i < 10 && failure is null; i++)
        {
            var pushed = await ReceiveAsync(socket);
            Assert.NotNull(pushed);
            failure = (string?)pushed["type"] == "delivery_failed" ? pushed : null;
        }

        Assert.NotNull(failure);
        Assert.Equal("tally", (string)failure["target"]!);
        Assert.Equal("ticket", (string)failure["action"]!);
        Assert.Equal(foreignKey.Id, (string)failure["peer"]!);
        Assert.Contains("no receipt after", (string)failure["reason"]!);
        await using var connection = await site.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM mychips.user_events e JOIN mychips.users u USING (user_id) WHERE u.cuid = 'erin' AND e.events::text LIKE '%delivery_failed%'"));
    }

    private static async Task<JsonObject?> ReceiveAsync(ClientWebSocket socket, TimeSpan? timeout = null)
    {
        var buffer = new byte[64 * 1024];
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            var result = await socket.ReceiveAsync(buffer, deadline.Token);
            return result.MessageType == WebSocketMessageType.Text ? (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count))! : null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
