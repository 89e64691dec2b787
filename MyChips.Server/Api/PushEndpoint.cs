using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

namespace MyChips.Server.Api;

/// <summary>
/// <c>GET /api/ws</c>: a WebSocket that pushes the authenticated user's own events, and nobody else's (PROTOCOL W2):
/// the channel is derived from the session, never chosen by the client. Each message is one event with its id;
/// <c>?since=ID</c> replays what came after ID. The socket closes when the session expires.
/// </summary>
internal static class PushEndpoint
{
    private const int BatchSize = 200;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromDays(49);

    public static void Map(RouteGroupBuilder api) => api.Map("/ws", async (HttpContext context, UserPushHub hub, NpgsqlDataSource dataSource) =>
    {
        var user = await ApiAuth.UserAsync(context, allowQuery: true);
        // A malformed since is refused (before the upgrade, so the client sees the code), not silently replaced by "now".
        long? since = null;
        if (context.Request.Query.TryGetValue("since", out var sinceText))
        {
            since = sinceText.Count == 1 && long.TryParse(sinceText[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var s)
                ? s
                : throw MyChips.Data.Domain.DomainErrors.InvalidField("since", "must be an event id (a whole number, 0 or more), as in the id of the last event seen.");
        }

        if (!context.WebSockets.IsWebSocketRequest)
            throw new MyChips.Data.Domain.DomainException("websocket_required", "Connect with a WebSocket upgrade.", 400);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var signal = hub.Subscribe(user.UserId);
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        // CancelAfter refuses a negative delay (the database's clock may call a session valid that ours calls expired)
        // and one past about 49.7 days (a long SessionLifetime): clamp, or it throws after the upgrade.
        var remaining = user.SessionExpires - DateTimeOffset.UtcNow;
        lifetime.CancelAfter(remaining <= TimeSpan.Zero ? TimeSpan.Zero : remaining < MaxDelay ? remaining : MaxDelay);
        try
        {
            var last = since ?? await LatestAsync(dataSource, user.UserId, lifetime.Token);
            await SendAsync(socket, new JsonObject { ["type"] = "hello", ["user"] = user.Cuid, ["since"] = last }, lifetime.Token);
            var closed = DrainAsync(socket, lifetime);
            while (!lifetime.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                last = await PushAsync(socket, dataSource, user.UserId, last, lifetime.Token);
                // A lost wake-up (NOTIFY is sent after commit, best effort) costs at most the poll interval.
                using var poll = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token);
                poll.CancelAfter(PollInterval);
                try
                {
                    await signal.Reader.WaitToReadAsync(poll.Token);
                    signal.Reader.TryRead(out _);
                }
                catch (OperationCanceledException) when (!lifetime.IsCancellationRequested)
                {
                }
            }

            await closed;
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
        }
        finally
        {
            hub.Unsubscribe(user.UserId, signal);
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                var clientClosed = socket.State == WebSocketState.CloseReceived;
                var expired = !clientClosed && !context.RequestAborted.IsCancellationRequested;
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await socket.CloseOutputAsync(clientClosed ? WebSocketCloseStatus.NormalClosure : WebSocketCloseStatus.PolicyViolation,
                        clientClosed ? "bye" : expired ? "session expired" : "closing", deadline.Token);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException)
                {
                }
            }
        }
    });

    private static async Task<long> PushAsync(WebSocket socket, NpgsqlDataSource dataSource, long userId, long last, CancellationToken cancellationToken)
    {
        while (true)
        {
            await using var command = dataSource.CreateCommand(
                "SELECT event_id, events::text FROM mychips.user_events WHERE user_id = $1 AND event_id > $2 ORDER BY event_id LIMIT $3");
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = userId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = BatchSize });
            var rows = new List<(long Id, string Events)>();
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                    rows.Add((reader.GetInt64(0), reader.GetString(1)));
            }

            foreach (var (id, events) in rows)
            {
                foreach (var item in JsonNode.Parse(events)!.AsArray())
                {
                    var evt = (JsonObject)item!.DeepClone();
                    evt["id"] = id;
                    await SendAsync(socket, evt, cancellationToken);
                }

                last = id;
            }

            if (rows.Count < BatchSize)
                return last;
        }
    }

    private static async Task<long> LatestAsync(NpgsqlDataSource dataSource, long userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT coalesce(max(event_id), 0) FROM mychips.user_events WHERE user_id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = userId });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static Task SendAsync(WebSocket socket, JsonObject message, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString(ApiJson.Options)), WebSocketMessageType.Text, true, cancellationToken);

    // The client sends nothing we act on; reading notices its close and ends the push loop.
    private static async Task DrainAsync(WebSocket socket, CancellationTokenSource lifetime)
    {
        var buffer = new byte[1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, lifetime.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                    break;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        finally
        {
            await lifetime.CancelAsync();
        }
    }
}
