using System.Text.Json.Nodes;
using MyChips.Peer.Noise;

namespace MyChips.Peer.Transport;

/// <summary>
/// A completed handshake: who the peer is, the transport ciphers (null in raw mode), and, for a responder, the first
/// message that came inside <c>I</c> or <c>K</c>.
/// </summary>
internal sealed record PeerHandshakeResult(string PeerAgent, PeerTransportMode Mode, NoiseTransport? Noise, JsonObject? FirstMessage, bool FirstContact);
