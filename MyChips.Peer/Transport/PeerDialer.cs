using System.Net.Sockets;

namespace MyChips.Peer.Transport;

/// <summary>Opens the TCP side of an outbound connection (PROTOCOL §4.1: plain TCP to <c>to.host:to.port</c>).</summary>
internal static class PeerDialer
{
    /// <summary>Connects only to addresses <paramref name="policy"/> allows: the check is on the address actually dialled.</summary>
    public static async Task<SocketDuplexPipe> ConnectAsync(string host, int port, PeerAddressPolicy policy, CancellationToken cancellationToken)
    {
        var addresses = await policy.ResolveAsync(host, cancellationToken).ConfigureAwait(false);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, cancellationToken).ConfigureAwait(false);
            return new SocketDuplexPipe(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
