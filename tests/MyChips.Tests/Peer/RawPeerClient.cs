using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace MyChips.Tests.Peer;

/// <summary>A bare TCP client that writes arbitrary bytes at a listener and counts what comes back.</summary>
public static class RawPeerClient
{
    /// <summary>Writes <paramref name="bytes"/>, half-closes, and returns how many bytes the listener wrote before closing.</summary>
    public static async Task<int> SendAndCountRepliesAsync(int port, byte[] bytes, TimeSpan timeout)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = new CancellationTokenSource(timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), deadline.Token);
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None, deadline.Token);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The listener may reset the connection while we are still writing an oversize frame.
        }

        int received = 0;
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (n == 0)
                {
                    return received;
                }

                received += n;
            }
        }
        catch (SocketException)
        {
            return received;
        }
    }

    public static byte[] Frame(byte header, ReadOnlySpan<byte> body)
    {
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(body.Length + 1));
        frame[4] = header;
        body.CopyTo(frame.AsSpan(5));
        return frame;
    }
}
