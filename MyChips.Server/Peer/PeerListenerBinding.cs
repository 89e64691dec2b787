using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace MyChips.Server.Peer;

/// <summary>The peer listener's Kestrel endpoint; after start it holds the bound port (a configured port 0 becomes a real one).</summary>
public sealed class PeerListenerBinding
{
    internal ListenOptions? Listen { get; set; }

    /// <summary>The bound endpoint; meaningful once the server has started.</summary>
    public IPEndPoint EndPoint => Listen?.EndPoint as IPEndPoint ?? throw new InvalidOperationException("The peer listener is not configured.");
}
