using Dapper;
using MyChips.Data.Upgrade;
using MyChips.Server.Hosting;
using Npgsql;

namespace MyChips.Server.Upgrade;

/// <summary>
/// LISTENs for drain requests on a dedicated connection and drains this instance when one addresses it. The
/// connection is re-opened after any failure; a request sent meanwhile still arrives through the registry row
/// (<see cref="InstanceRegistrationService"/>).
/// </summary>
internal sealed class DrainListenerService(
    NpgsqlDataSource dataSource,
    InstanceIdentity identity,
    InstanceDrain drain,
    ILogger<DrainListenerService> logger) : BackgroundService
{
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken).ConfigureAwait(false);
                connection.Notification += OnNotification;
                await connection.ExecuteAsync($"LISTEN {InstanceRegistry.DrainChannel}").ConfigureAwait(false);
                while (true)
                {
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                logger.LogWarning("Drain listener lost its connection ({Message}); reconnecting", e.Message);
            }

            try
            {
                await Task.Delay(ReconnectDelay, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (DrainRequest.TryParse(e.Payload) is { } request && request.Matches(identity.Id, identity.CodeSchemaVersion))
        {
            drain.Request(request.Reason);
        }
    }
}
