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
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(1);

    public static void Map(RouteGroupBuilder api) => api.Map("/ws", async (HttpContext context, UserPushHub hub, NpgsqlDataSource dataSource,
        IHostApplicationLifetime application) =>
    {
        var user = await ApiAuth.UserAsync(context, allowQuery: true);
        if (!context.WebSockets.IsWebSocketRequest)
            throw new MyChips.Data.Domain.DomainException("websocket_required", "Connect with a WebSocket upgrade.", 400);
        long? since = long.TryParse(context.Request.Query["since"], out var s) ? s : null;
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var signal = hub.Subscribe(user.UserId);
        // Ends the push loop: the client closed or vanished, the session expired, or the host began to stop. A socket
        // is a request that never finishes by itself, so without the last one the host would wait its whole shutdown
        // timeout and then drop the connection (1006) instead of saying it is going away.
        var stopping = application.ApplicationStopping;
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        // CancelAfter refuses a negative delay (the database's clock may call a session valid that ours calls expired)
        // and one past about 49.7 days (a long SessionLifetime): clamp, or it throws after the upgrade.
        var remaining = user.SessionExpires - DateTimeOffset.UtcNow;
        lifetime.CancelAfter(remaining <= TimeSpan.Zero ? TimeSpan.Zero : remaining < MaxDelay ? remaining : MaxDelay);
        // Socket operations take only the connection's token: cancelling a send or receive aborts the socket, and an
        // aborted socket can no longer send its close frame.
        var aborted = context.RequestAborted;
        var received = ReceiveUntilCloseAsync(socket, lifetime, aborted);
        try
        {
            var last = since ?? await LatestAsync(dataSource, user.UserId, lifetime.Token);
            await SendAsync(socket, new JsonObject { ["type"] = "hello", ["user"] = user.Cuid, ["since"] = last }, aborted);
            while (!lifetime.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                last = await PushAsync(socket, dataSource, user.UserId, last, lifetime.Token, aborted);
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
            await CloseAsync(socket, received, context.RequestAborted.IsCancellationRequested, stopping.IsCancellationRequested);
        }
    });

    /// <summary>
    /// Says why the socket ends (the client's close answered; going away at shutdown, 1001; session expired, 1008),
    /// then waits briefly for the client's close frame so the handshake completes before the connection goes.
    /// </summary>
    private static async Task CloseAsync(WebSocket socket, Task received, bool aborted, bool stopping)
    {
        if (!aborted && socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            var (status, description) = socket.State == WebSocketState.CloseReceived ? (WebSocketCloseStatus.NormalClosure, "bye")
                : stopping ? (WebSocketCloseStatus.EndpointUnavailable, "server shutting down")
                : (WebSocketCloseStatus.PolicyViolation, "session expired");
            using var deadline = new CancellationTokenSource(CloseWait);
            try
            {
                await socket.CloseOutputAsync(status, description, deadline.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }

        // Bounded: a client that never answers the close costs CloseWait, then the connection is dropped.
        try
        {
            await received.WaitAsync(CloseWait);
        }
        catch (TimeoutException)
        {
            socket.Abort();
            await received;
        }
    }

    private static async Task<long> PushAsync(WebSocket socket, NpgsqlDataSource dataSource, long userId, long last,
        CancellationToken cancellationToken, CancellationToken aborted)
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
                    await SendAsync(socket, evt, aborted);
                }

                last = id;
                // Stop between events, never inside a send: the rest is replayed after a reconnect (?since).
                if (cancellationToken.IsCancellationRequested)
                    return last;
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

    // The client sends nothing we act on; reading notices its close (or its close answer) and ends the push loop.
    private static async Task ReceiveUntilCloseAsync(WebSocket socket, CancellationTokenSource lifetime, CancellationToken aborted)
    {
        var buffer = new byte[1024];
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var result = await socket.ReceiveAsync(buffer, aborted);
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
