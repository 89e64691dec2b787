using System.Threading.Channels;
using Npgsql;

namespace MyChips.Data.Domain;

/// <summary>
/// Sends the wake-up NOTIFYs (<c>mychips_user</c>, <c>mychips_outbox</c>) after a state change commits, coalesced,
/// outside that transaction. Why not inside: PostgreSQL serialises the commits of every transaction that NOTIFYs
/// (one lock held through the WAL flush), which would cap a site at one fsync per payment. A NOTIFY only wakes
/// readers of tables that are already committed, so a lost one (a crash in between) costs at most the pushers'
/// polling interval, never data.
/// </summary>
public sealed class DomainNotifier : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly Channel<(string Channel, string Payload)> _queue =
        Channel.CreateUnbounded<(string, string)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    public DomainNotifier(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
        _loop = Task.Run(LoopAsync);
    }

    public void Post(string channel, string payload) => _queue.Writer.TryWrite((channel, payload));

    private async Task LoopAsync()
    {
        var channels = new List<string>();
        var payloads = new List<string>();
        var seen = new HashSet<(string, string)>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (_queue.Reader.TryRead(out var item))
            {
                if (seen.Add(item))
                {
                    channels.Add(item.Channel);
                    payloads.Add(item.Payload);
                }
            }

            try
            {
                await using var command = _dataSource.CreateCommand("SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n(c, p)");
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. channels] });
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. payloads] });
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // The database is unreachable: the wake-ups are lost, the pushers' polling picks the events up.
            }

            channels.Clear();
            payloads.Clear();
            seen.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}
