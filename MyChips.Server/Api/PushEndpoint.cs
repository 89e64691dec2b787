using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using MyChips.Data.Domain;
using Npgsql;

namespace MyChips.Server.Api;

/// <summary>
/// <c>GET /api/ws</c>: a WebSocket that pushes the authenticated user's own events, and nobody else's (PROTOCOL W2):
/// the channel is derived from the session, never chosen by the client. Each message is one event with its id;
/// <c>?since=ID</c> replays what came after ID. The events come from <see cref="UserPushHub"/> (one query per batch
/// for all sockets); this loop only sends them. Over a cap the upgrade is refused (429); the socket closes with 1008
/// when the session expires ("session expired") or is ended (logout and the like: "session ended"), 1001 when the
/// server stops.
/// </summary>
internal static class PushEndpoint
{
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
                : throw DomainErrors.InvalidField("since", "must be an event id (a whole number, 0 or more), as in the id of the last event seen.");
        }

        if (!context.WebSockets.IsWebSocketRequest)
            throw new DomainException("websocket_required", "Connect with a WebSocket upgrade.", 400);
        IDisposable slot;
        try
        {
            slot = hub.Reserve(user.UserId);
        }
        catch (DomainException)
        {
            context.Response.Headers.RetryAfter = "5";
            throw;
        }

        using var held = slot;
        var tokenHash = SecretToken.Hash(ApiAuth.Token(context, allowQuery: true)!);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        // CancelAfter refuses a negative delay (the database's clock may call a session valid that ours calls expired)
        // and one past about 49.7 days (a long SessionLifetime): clamp, or it throws after the upgrade.
        var remaining = user.SessionExpires - DateTimeOffset.UtcNow;
        lifetime.CancelAfter(remaining <= TimeSpan.Zero ? TimeSpan.Zero : remaining < MaxDelay ? remaining : MaxDelay);
        PushSubscriber? subscriber = null;
        var closed = Task.CompletedTask;
        try
        {
            var last = since ?? await LatestAsync(dataSource, user.UserId, lifetime.Token);
            await SendAsync(socket, new JsonObject { ["type"] = "hello", ["user"] = user.Cuid, ["since"] = last }, lifetime.Token);
            subscriber = new PushSubscriber(user.UserId, tokenHash, last);
            using var ended = subscriber.Ended.Register(static state => ((CancellationTokenSource)state!).Cancel(), lifetime);
            hub.Add(subscriber);
            closed = DrainAsync(socket, lifetime, context.RequestAborted);
            var queue = subscriber.Queue.Reader;
            while (await queue.WaitToReadAsync(lifetime.Token))
            {
                while (subscriber.End is null && queue.TryRead(out var row))
                {
                    foreach (var item in JsonNode.Parse(row.Events)!.AsArray())
                    {
                        var evt = (JsonObject)item!.DeepClone();
                        evt["id"] = row.Id;
                        await SendAsync(socket, evt, lifetime.Token);
                    }
                }

                if (queue.Count == 0 && subscriber.ClearStalled())
                    hub.Wake(user.UserId);
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
            if (subscriber is not null)
                hub.Remove(subscriber);
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                var clientClosed = socket.State == WebSocketState.CloseReceived;
                var expired = !clientClosed && !context.RequestAborted.IsCancellationRequested;
                var (status, reason) = clientClosed ? (WebSocketCloseStatus.NormalClosure, "bye")
                    : subscriber?.End is { } end ? (end.Status, end.Reason)
                    : (WebSocketCloseStatus.PolicyViolation, expired ? "session expired" : "closing");
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await socket.CloseOutputAsync(status, reason, deadline.Token);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException)
                {
                }
            }

            // Let the client's close frame arrive (a clean close handshake), but not wait on a silent client.
            await closed.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    });

    private static async Task<long> LatestAsync(NpgsqlDataSource dataSource, long userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT coalesce(max(event_id), 0) FROM mychips.user_events WHERE user_id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = userId });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static Task SendAsync(WebSocket socket, JsonObject message, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, cancellationToken);

    // The client sends nothing we act on; reading notices its close and ends the push loop. The read is cancelled only
    // by the connection going away: cancelling a pending read aborts a WebSocket, and our own close must be a clean one.
    private static async Task DrainAsync(WebSocket socket, CancellationTokenSource lifetime, CancellationToken aborted)
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
            try
            {
                await lifetime.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // The socket's handler already returned (a client that never answered our close).
            }
        }
    }
}
