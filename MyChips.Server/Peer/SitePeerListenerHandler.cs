using Microsoft.AspNetCore.Connections;
using MyChips.Server.Upgrade;

namespace MyChips.Server.Peer;

/// <summary>
/// Kestrel's side of the site's peer listener. The listener opens with the server, before the schema is ready and the
/// agent key is known: a new connection waits in the hold gate (like a web request), then runs the responder flow.
/// </summary>
internal sealed class SitePeerListenerHandler(HoldGate gate, SitePeerTransport transport, ILogger<SitePeerListenerHandler> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        try
        {
            var held = await gate.WaitAsync(connection.ConnectionClosed).ConfigureAwait(false);
            if (!held.Admitted)
            {
                logger.LogWarning("Peer connection from {Remote} closed unanswered: {Reason} (the peer redials)", connection.RemoteEndPoint, held.Reason);
                return;
            }

            var manager = await transport.WaitAsync(connection.ConnectionClosed).ConfigureAwait(false);
            await manager.HandleInboundAsync(connection.Transport, connection.RemoteEndPoint, connection.ConnectionClosed).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (connection.ConnectionClosed.IsCancellationRequested)
        {
        }
    }
}
