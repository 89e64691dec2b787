using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Api;

/// <summary>
/// Push sockets are bounded (per user, per instance), fan out with one query per batch rather than one per socket,
/// and close when their session ends, however it ends and on whichever instance.
/// </summary>
[Collection(UserApiCollection.Name)]
public sealed class PushLimitsTests(PostgresServer server, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_flood_of_sockets_and_payments_is_capped_every_open_socket_gets_every_event_and_database_connections_stay_few()
    {
        await using var site = await ApiSite.StartAsync(server, "pushflood", new Dictionary<string, string?> { ["Web:MaxSocketsPerUser"] = "4" });
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");
        var tally = await TallySetup.OpenAsync(adam, bob);

        // 20 sockets for one user: 4 open, 16 refused before the upgrade with 429.
        var sockets = new List<ClientWebSocket>();
        var refused = 0;
        try
        {
            for (var i = 0; i < 20; i++)
            {
                var socket = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
                try
                {
                    await socket.ConnectAsync(SocketUri(site, adam.Token!), CancellationToken.None);
                    Assert.Equal("hello", (string)(await ReceiveAsync(socket))!["type"]!);
                    sockets.Add(socket);
                }
                catch (WebSocketException)
                {
                    Assert.Equal(HttpStatusCode.TooManyRequests, socket.HttpStatusCode);
                    socket.Dispose();
                    refused++;
                }
            }

            Assert.Equal(4, sockets.Count);
            Assert.Equal(16, refused);
            var (status, code) = await UpgradeRefusalAsync(site, adam.Token!);
            Assert.Equal(HttpStatusCode.TooManyRequests, status);
            Assert.Equal("too_many_sockets", code);
            Assert.Equal(4, await MetricAsync(site, "mychips_push_sockets"));

            // 200 payments from 4 concurrent clients while the connections of the site's database are sampled.
            await using var monitor = await site.OpenAsync();
            var peak = 0;
            using var flooding = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
                while (!flooding.IsCancellationRequested && !limit.IsCancellationRequested)
                {
                    peak = Math.Max(peak, await monitor.ExecuteScalarAsync<int>(
                        "SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"));
                    await Task.Delay(20, CancellationToken.None);
                }
            });
            var paid = new List<Guid>();
            await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
            {
                for (var n = 0; n < 50; n++)
                {
                    var uuid = Guid.NewGuid();
                    lock (paid)
                        paid.Add(uuid);
                    await bob.PostAsync($"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 1, uuid: uuid));
                }
            }));

            // Every open socket hears of every payment.
            foreach (var socket in sockets)
            {
                var heard = new HashSet<Guid>();
                while (heard.Count < paid.Count)
                {
                    var message = await ReceiveAsync(socket) ?? throw new TimeoutException($"a socket heard of {heard.Count} of {paid.Count} payments");
                    if ((string?)message["type"] == "chit")
                        heard.Add(Guid.Parse((string)message["chit"]!));
                }

                Assert.Subset(paid.ToHashSet(), heard);
            }

            await flooding.CancelAsync();
            await sampler;
            // The pooled connections of 4 concurrent requests plus the site's own few (push listener and fan-out,
            // NOTIFY sender, registry, drain listener, outbox sender); one per socket would be 4 more at least, and
            // unbounded sockets 20 more.
            output.WriteLine($"peak database connections during the flood: {peak}");
            Assert.True(peak <= 12, $"the site held {peak} database connections during the flood");
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    [Fact]
    public async Task The_instance_cap_refuses_any_users_socket_with_socket_limit_reached_and_a_closed_socket_frees_its_slot()
    {
        await using var site = await ApiSite.StartAsync(server, "pushtotal",
            new Dictionary<string, string?> { ["Web:MaxSockets"] = "2", ["Web:MaxSocketsPerUser"] = "2" });
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");
        using var first = new ClientWebSocket();
        await first.ConnectAsync(SocketUri(site, adam.Token!), CancellationToken.None);
        using var second = new ClientWebSocket();
        await second.ConnectAsync(SocketUri(site, adam.Token!), CancellationToken.None);

        var (status, code) = await UpgradeRefusalAsync(site, bob.Token!);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("socket_limit_reached", code);

        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await Wait.UntilAsync(async () => await MetricAsync(site, "mychips_push_sockets") == 1, Patience, "the closed socket is gone");
        using var bobs = new ClientWebSocket();
        await bobs.ConnectAsync(SocketUri(site, bob.Token!), CancellationToken.None);
        Assert.Equal("bob", (string)(await ReceiveAsync(bobs))!["user"]!);
    }

    [Fact]
    public async Task The_fan_out_runs_one_query_per_batch_not_one_per_socket()
    {
        await using var site = await ApiSite.StartAsync(server, "pushfan", new Dictionary<string, string?> { ["Web:MaxSocketsPerUser"] = "10" });
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");
        var tally = await TallySetup.OpenAsync(adam, bob);
        var sockets = new List<ClientWebSocket>();
        try
        {
            foreach (var user in new[] { adam, bob })
            {
                for (var i = 0; i < 10; i++)
                {
                    var socket = new ClientWebSocket();
                    sockets.Add(socket);
                    await socket.ConnectAsync(SocketUri(site, user.Token!), CancellationToken.None);
                    Assert.Equal("hello", (string)(await ReceiveAsync(socket))!["type"]!);
                }
            }

            const int payments = 20;
            var before = await MetricAsync(site, "mychips_push_fanout_queries_total");
            var started = DateTime.UtcNow;
            for (var n = 0; n < payments; n++)
            {
                var uuid = Guid.NewGuid();
                await bob.PostAsync($"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 1, uuid: uuid));
                // Each of the 20 sockets (both users) hears of this payment before the next one.
                foreach (var socket in sockets)
                {
                    while (true)
                    {
                        var message = await ReceiveAsync(socket) ?? throw new TimeoutException($"payment {n} did not reach a socket");
                        if ((string?)message["type"] == "chit" && (string?)message["chit"] == uuid.ToString())
                            break;
                    }
                }
            }

            var queries = await MetricAsync(site, "mychips_push_fanout_queries_total") - before;
            // At most one per wake-up (a payment wakes its two users, perhaps in two batches) plus the periodic passes
            // (every 5 s by default); one query per socket per event would be 20 per payment.
            var passes = (long)Math.Ceiling((DateTime.UtcNow - started).TotalSeconds / 5) + 1;
            output.WriteLine($"fan-out queries for {payments} payments to 20 sockets: {queries}");
            Assert.InRange(queries, 1, (2 * payments) + passes);
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    [Fact]
    public async Task Logout_closes_the_users_socket_with_1008_session_ended_and_no_push_follows()
    {
        await using var site = await ApiSite.StartAsync(server, "pushlogout");
        using var adam = await site.AddUserAsync("adam");
        using var bob = await site.AddUserAsync("bob");
        var tally = await TallySetup.OpenAsync(adam, bob);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(SocketUri(site, adam.Token!), CancellationToken.None);
        Assert.Equal("hello", (string)(await ReceiveAsync(socket))!["type"]!);

        var (status, _) = await adam.SendAsync(HttpMethod.Post, "/api/logout");
        Assert.Equal(HttpStatusCode.NoContent, status);
        await bob.PostAsync($"/api/tallies/{tally}/pay", bob.Payment(tally, "foil", 5));

        await AssertClosedAsync(socket, WebSocketCloseStatus.PolicyViolation, "session ended");
    }

    [Fact]
    public async Task A_session_ended_in_the_database_closes_its_socket_on_another_instance_and_logout_there_does_too()
    {
        // Two instances of one site. The session re-check runs every Domain:SessionCacheTime (1 s here) and on every
        // fan-out, so a session removed without a logout (as `user disable` or `revoke-key` do) closes its socket too.
        var settings = new Dictionary<string, string?> { ["Domain:SessionCacheTime"] = "00:00:01" };
        await using var first = await ApiSite.StartAsync(server, "pushtwo", settings);
        await using var second = await ApiSite.StartAsync(first.ConnectionString, settings);
        using var adam = await first.AddUserAsync("adam");
        using var bob = await first.AddUserAsync("bob");

        // Logout on the first instance, the socket on the second.
        using (var socket = new ClientWebSocket())
        {
            await socket.ConnectAsync(SocketUri(second, adam.Token!), CancellationToken.None);
            Assert.Equal("hello", (string)(await ReceiveAsync(socket))!["type"]!);
            Assert.Equal(HttpStatusCode.NoContent, (await adam.SendAsync(HttpMethod.Post, "/api/logout")).Status);
            await AssertClosedAsync(socket, WebSocketCloseStatus.PolicyViolation, "session ended");
        }

        // The session row removed behind the server's back, no NOTIFY: the periodic re-check finds it.
        using (var socket = new ClientWebSocket())
        {
            await socket.ConnectAsync(SocketUri(second, bob.Token!), CancellationToken.None);
            Assert.Equal("hello", (string)(await ReceiveAsync(socket))!["type"]!);
            await using (var connection = await first.OpenAsync())
            {
                Assert.Equal(1, await connection.ExecuteAsync(
                    "DELETE FROM mychips.tokens WHERE purpose = 'session' AND user_id = (SELECT user_id FROM mychips.users WHERE cuid = 'bob')"));
            }

            await AssertClosedAsync(socket, WebSocketCloseStatus.PolicyViolation, "session ended");
        }
    }

    [Fact]
    public async Task A_stopping_instance_closes_its_sockets_with_1001()
    {
        await using var site = await ApiSite.StartAsync(server, "pushstop");
        using var adam = await site.AddUserAsync("adam");
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(SocketUri(site, adam.Token!), CancellationToken.None);
        Assert.Equal("hello", (string)(await ReceiveAsync(socket))!["type"]!);

        var stopping = site.App.StopAsync();
        await AssertClosedAsync(socket, WebSocketCloseStatus.EndpointUnavailable, "server stopping");
        await stopping.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_socket_that_stops_reading_holds_neither_its_siblings_nor_the_fan_out_and_catches_up_once_it_reads()
    {
        // Two subscribers of one user straight on the hub (as two sockets are): one does not read its queue until the
        // other has every event.
        await using var site = await ApiSite.StartAsync(server, "pushstall");
        using var adam = await site.AddUserAsync("adam");
        var hub = site.App.Services.GetRequiredService<MyChips.Server.Api.UserPushHub>();
        await using var connection = await site.OpenAsync();
        var userId = await connection.ExecuteScalarAsync<long>("SELECT user_id FROM mychips.users WHERE cuid = 'adam'");
        var last = await connection.ExecuteScalarAsync<long>("SELECT coalesce(max(event_id), 0) FROM mychips.user_events");
        var tokenHash = MyChips.Data.Domain.SecretToken.Hash(adam.Token!);
        var stuck = new MyChips.Server.Api.PushSubscriber(userId, tokenHash, last);
        var reader = new MyChips.Server.Api.PushSubscriber(userId, tokenHash, last);
        hub.Add(stuck);
        hub.Add(reader);
        try
        {
            const int rows = 300; // more than a queue holds (64), and more than one batch reads per user (200)
            var before = hub.FanoutQueries;
            for (var i = 0; i < rows; i++)
            {
                await connection.ExecuteAsync("INSERT INTO mychips.user_events (user_id, events) VALUES (@userId, '[{\"type\":\"test\"}]')", new { userId });
                await connection.ExecuteAsync("SELECT pg_notify('mychips_user', @user)", new { user = userId.ToString(CultureInfo.InvariantCulture) });
            }

            var got = await ReadLikeASocketAsync(hub, reader, rows);

            Assert.Equal(got.Order(), got);
            Assert.Equal(rows, got.Distinct().Count());
            Assert.Equal(MyChips.Server.Api.PushSubscriber.QueueCapacity, stuck.Queue.Reader.Count);
            Assert.True(stuck.Stalled);
            // No spinning on the stalled one: at most about one query per notification, not a busy loop.
            Assert.InRange(hub.FanoutQueries - before, 1, rows + 5);

            // Once it reads, it gets the rest.
            Assert.Equal(got, await ReadLikeASocketAsync(hub, stuck, rows));
        }
        finally
        {
            hub.Remove(stuck);
            hub.Remove(reader);
        }
    }

    /// <summary>Reads a subscriber's queue as the socket loop does: once it is empty, a stalled subscriber wakes the hub.</summary>
    private static async Task<List<long>> ReadLikeASocketAsync(MyChips.Server.Api.UserPushHub hub, MyChips.Server.Api.PushSubscriber subscriber, int count)
    {
        var ids = new List<long>();
        using var deadline = new CancellationTokenSource(Patience);
        while (ids.Count < count)
        {
            ids.Add((await subscriber.Queue.Reader.ReadAsync(deadline.Token)).Id);
            if (subscriber.Queue.Reader.Count == 0 && subscriber.ClearStalled())
                hub.Wake(subscriber.UserId);
        }

        return ids;
    }

    private static Uri SocketUri(ApiSite site, string token) =>
        new(site.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal) + "api/ws?access_token=" + token);

    /// <summary>The next frame is the server's close (within the patience), and no event came before it.</summary>
    private static async Task AssertClosedAsync(ClientWebSocket socket, WebSocketCloseStatus status, string reason)
    {
        var buffer = new byte[64 * 1024];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var result = await socket.ReceiveAsync(buffer, deadline.Token);
        Assert.True(result.MessageType == WebSocketMessageType.Close,
            $"expected the socket to close, got a message: {Encoding.UTF8.GetString(buffer, 0, result.Count)}");
        Assert.Equal(status, result.CloseStatus);
        Assert.Equal(reason, result.CloseStatusDescription);
    }

    /// <summary>A WebSocket upgrade sent as a plain request, to read the refusal's body.</summary>
    private static async Task<(HttpStatusCode Status, string? Code)> UpgradeRefusalAsync(ApiSite site, string token)
    {
        using var http = new HttpClient { BaseAddress = site.BaseAddress, Timeout = Patience };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/ws");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()));
        using var response = await http.SendAsync(request);
        var body = await ApiUser.ReadAsync(response);
        return (response.StatusCode, (string?)body["error"]?["code"]);
    }

    private static async Task<long> MetricAsync(ApiSite site, string name)
    {
        using var http = new HttpClient { BaseAddress = site.BaseAddress, Timeout = Patience };
        var text = await http.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"/metrics has no {name}");
        return long.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }

    private static async Task<JsonObject?> ReceiveAsync(WebSocket socket, TimeSpan? timeout = null)
    {
        var buffer = new byte[64 * 1024];
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
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
