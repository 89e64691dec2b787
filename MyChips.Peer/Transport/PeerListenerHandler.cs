using Microsoft.AspNetCore.Connections;

namespace MyChips.Peer.Transport;

/// <summary>Kestrel's side of the peer listener: each accepted TCP connection runs the responder flow.</summary>
public sealed class PeerListenerHandler(PeerConnectionManager manager) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return manager.HandleInboundAsync(connection.Transport, connection.RemoteEndPoint, connection.ConnectionClosed);
    }
}
