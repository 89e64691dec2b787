using System.Net;
using System.Text.Json.Nodes;

namespace MyChips.Peer.Transport;

/// <summary>One inbound protocol message, from a peer whose identity the transport has established.</summary>
/// <param name="PeerAgent">The authenticated peer (Noise), or the agent announced on the connection (raw mode).</param>
/// <param name="Message">The parsed envelope; its <c>from.agent</c> equals <paramref name="PeerAgent"/>.</param>
/// <param name="Mode">Raw means the identity is only announced, not proven.</param>
/// <param name="RemoteEndPoint">The socket peer, when known; null for local loopback delivery.</param>
public sealed record PeerInboundMessage(string PeerAgent, JsonObject Message, PeerTransportMode Mode, EndPoint? RemoteEndPoint);
