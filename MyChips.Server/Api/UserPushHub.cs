using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Npgsql;

namespace MyChips.Server.Api;

/// <summary>
/// Wakes the WebSockets of a user when <c>NOTIFY mychips_user, '&lt;user id&gt;'</c> arrives (from any instance):
/// one LISTEN connection per process. The payload is only a hint; sockets read the events from the table, so a lost
/// notification (reconnect) only delays them: after a reconnect every socket is woken.
/// </summary>
internal sealed class UserPushHub(NpgsqlDataSource dataSource, ILogger<UserPushHub> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<long, ConcurrentDictionary<Channel<bool>, byte>> _subscribers = new();

    public Channel<bool> Subscribe(long userId)
    {
        var channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        _subscribers.GetOrAdd(userId, _ => new()).TryAdd(channel, 0);
        return channel;
    }

    public void Unsubscribe(long userId, Channel<bool> channel)
    {
        if (_subscribers.TryGetValue(userId, out var set))
            set.TryRemove(channel, out _);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    // Validate before use (PROTOCOL W7): anything but a user id is ignored.
                    if (long.TryParse(e.Payload, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
                        Wake(userId);
                };
                await using (var listen = new NpgsqlCommand("LISTEN mychips_user", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                WakeAll();
                while (!stoppingToken.IsCancellationRequested)
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                logger.LogWarning("Push listener lost its connection ({Message}); reconnecting", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private void Wake(long userId)
    {
        if (_subscribers.TryGetValue(userId, out var set))
        {
            foreach (var channel in set.Keys)
                channel.Writer.TryWrite(true);
        }
    }

    private void WakeAll()
    {
        foreach (var set in _subscribers.Values)
        {
            foreach (var channel in set.Keys)
                channel.Writer.TryWrite(true);
        }
    }
}
