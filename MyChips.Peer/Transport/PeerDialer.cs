using System.Net.Sockets;

namespace MyChips.Peer.Transport;

/// <summary>Opens the TCP side of an outbound connection (PROTOCOL §4.1: plain TCP to <c>to.host:to.port</c>).</summary>
internal static class PeerDialer
{
    public static async Task<SocketDuplexPipe> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
            return new SocketDuplexPipe(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
