using System.Net;
using System.Text.Json.Nodes;

namespace MyChips.Peer.Transport;

/// <summary>An IK first contact waiting for the sink's verdict; the peer's static key matches <c>from.agent</c> already.</summary>
public sealed record PeerTicketRequest(string PeerAgent, JsonObject Message, PeerTransportMode Mode, EndPoint? RemoteEndPoint);
