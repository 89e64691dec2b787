using Microsoft.Extensions.Options;
using MyChips.Data;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;
using Npgsql;

namespace MyChips.Server.Peer;

/// <summary>
/// Delivers <c>mychips.outbox</c> to other sites (DESIGN.md 3), in every instance: claims the due rows
/// (<see cref="OutboxStore"/>), stamps each with its key as the envelope <c>id</c> and hands them to the transport in
/// outbox order. A row counts as delivered only when the peer's receipt arrives (<see cref="DomainPeerSink"/>);
/// without one it is due again after the receipt timeout, doubling per try, and is given up after the try limit.
/// Woken by <c>NOTIFY mychips_outbox</c> and by receipts, and polls as a fallback.
/// </summary>
internal sealed class OutboxSender(
    NpgsqlDataSource dataSource,
    OutboxStore outbox,
    ChainResync resync,
    OutboxWakeup wakeup,
    OutboxReceiptQueue receipts,
    SitePeerTransport transport,
    IOptions<SitePeerOptions> options,
    IPeerProfiles peers,
    PeerMetrics metrics,
    ILogger<OutboxSender> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        PeerConnectionManager manager;
        try
        {
            manager = await transport.WaitAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var listener = ListenAsync(stoppingToken);
        var receipting = ReceiptsAsync(stoppingToken);
        var settings = options.Value;
        var resyncDue = DateTimeOffset.UtcNow + settings.ChainResyncAfter;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait = settings.PollInterval;
            try
            {
                foreach (var (id, peer, key, retired) in await outbox.GiveUpAsync(settings.MaxTries, peers, stoppingToken).ConfigureAwait(false))
                {
                    if (retired)
                    {
                        logger.LogInformation("Outbox message {OutboxId} ({Key}) to reference peer {Peer} retired after {Tries} tries (it sends no receipts)", id, key, peer, settings.MaxTries);
                        continue;
                    }

                    metrics.GivenUp();
                    logger.LogError("Outbox message {OutboxId} ({Key}) to {Peer} given up after {Tries} tries without a receipt", id, key, peer, settings.MaxTries);
                }

                if (DateTimeOffset.UtcNow >= resyncDue)
                {
                    resyncDue = DateTimeOffset.UtcNow + settings.ChainResyncAfter / 2;
                    if (await resync.RunAsync(settings.ChainResyncAfter, settings.BatchSize, stoppingToken).ConfigureAwait(false) is > 0 and var nudged)
                        logger.LogInformation("Chain consensus nudged on {Count} tallies left unconfirmed for {After}", nudged, settings.ChainResyncAfter);
                }

                var items = await outbox.ClaimAsync(settings.BatchSize, settings.Window, settings.ReceiptTimeout, settings.MaxRetryWait, stoppingToken).ConfigureAwait(false);
                foreach (var item in items)
                    Send(manager, item);
                if (items.Count == settings.BatchSize)
                    continue;
                if (await outbox.NextDueAsync(stoppingToken).ConfigureAwait(false) is { } due)
                    wait = TimeSpan.FromTicks(Math.Clamp((due - DateTimeOffset.UtcNow).Ticks, TimeSpan.FromMilliseconds(10).Ticks, wait.Ticks));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Whatever failed, this instance keeps serving and the rows stay due.
                logger.LogWarning(e is NpgsqlException or FencedException ? null : e, "Outbox round failed ({Message}); retrying", e.Message);
            }

            try
            {
                await wakeup.WaitAsync(wait, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await listener.ConfigureAwait(false);
        await receipting.ConfigureAwait(false);
    }

    private void Send(PeerConnectionManager manager, OutboxItem item)
    {
        var message = item.Message;
        message[PeerInbox.IdMember] = item.Key;
        metrics.Sent(retry: item.Attempts > 1);
        if (item.Attempts > 1)
            logger.LogInformation("Re-sending outbox message {OutboxId} to {Peer} (try {Try}): no receipt yet", item.OutboxId, item.PeerAgent, item.Attempts);
        try
        {
            _ = manager.SendAsync(message, CancellationToken.None).ContinueWith(
                (t, state) => ((OutboxSender)state!).Failed(item, t.Exception!.GetBaseException()),
                this, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        catch (PeerSendException e)
        {
            Failed(item, e);
        }
    }

    private void Failed(OutboxItem item, Exception error)
    {
        if (error is PeerSendException { Failure: PeerSendFailure.AddressNotAllowed })
        {
            _ = GiveUpAsync(item, error.Message);
            return;
        }

        logger.LogWarning("Outbox message {OutboxId} to {Peer} not sent (try {Try}): {Message}", item.OutboxId, item.PeerAgent, item.Attempts, error.Message);
        _ = RecordAsync(item.OutboxId, error.Message);
    }

    // Retrying cannot make a refused address allowed: the row is given up now (the sender's user gets delivery_failed).
    private async Task GiveUpAsync(OutboxItem item, string error)
    {
        try
        {
            if (await outbox.GiveUpNowAsync(item.OutboxId, error, CancellationToken.None).ConfigureAwait(false))
            {
                metrics.GivenUp();
                logger.LogError("Outbox message {OutboxId} ({Key}) to {Peer} given up, not dialled: {Message}", item.OutboxId, item.Key, item.PeerAgent, error);
            }
        }
        catch (Exception e) when (e is NpgsqlException or FencedException or InvalidOperationException)
        {
            logger.LogWarning("Could not give up outbox message {OutboxId} ({Message}); it stays due", item.OutboxId, e.Message);
        }
    }

    private async Task RecordAsync(long outboxId, string error)
    {
        try
        {
            await outbox.RecordErrorAsync(outboxId, error, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or FencedException or InvalidOperationException)
        {
            logger.LogDebug("Could not record the send error of {OutboxId}: {Message}", outboxId, e.Message);
        }
    }

    // Receipts mark rows delivered (or refused) in batches; each batch wakes the claim loop.
    private async Task ReceiptsAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            List<OutboxReceipt> batch;
            try
            {
                batch = await receipts.TakeAsync(500, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                var updated = await outbox.ReceiptsAsync(batch, stoppingToken).ConfigureAwait(false);
                logger.LogDebug("{Count} receipts, {Updated} rows delivered or refused", batch.Count, updated);
                var refusedCount = 0;
                foreach (var refused in batch.Where(r => r.Refusal is not null))
                {
                    refusedCount++;
                    metrics.RefusedByPeer();
                    logger.LogError("Peer {Peer} refused our message {Key}: {Reason}; given up", refused.PeerAgent, refused.Key, refused.Refusal);
                }

                metrics.Delivered(Math.Max(0, updated - refusedCount));
                wakeup.Wake(); // rows left the window: the peer's next ones may go
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Lost receipts only cost a re-send, which the peer answers again.
                logger.LogWarning("Could not record {Count} receipts ({Message})", batch.Count, e.Message);
            }
        }
    }

    // LISTEN mychips_outbox: any instance's commit that queued a message wakes this sender; lost wake-ups are covered by polling.
    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken).ConfigureAwait(false);
                connection.Notification += (_, _) => wakeup.Wake();
                await using (var listen = new NpgsqlCommand("LISTEN mychips_outbox", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                wakeup.Wake();
                while (!stoppingToken.IsCancellationRequested)
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                logger.LogWarning("Outbox listener lost its connection ({Message}); reconnecting", e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
