using System.Text.Json.Nodes;

namespace MyChips.Peer.Transport;

/// <summary>Where to reach a peer agent: the agent ID authenticates it, host and port are routing hints (PROTOCOL §2.1).</summary>
public sealed record PeerAddress(string Agent, string? Host, int? Port)
{
    /// <summary>Reads a CHAD <c>{cuid, agent, host, port}</c>, e.g. an envelope's <c>to</c>; null if it has no agent.</summary>
    public static PeerAddress? FromChad(JsonNode? chad)
    {
        if (chad is not JsonObject obj || PeerEnvelope.GetString(obj, "agent") is not { } agent)
        {
            return null;
        }

        int? port = obj["port"] is JsonValue v && v.TryGetValue<int>(out int p) ? p
            : obj["port"] is JsonValue s && s.TryGetValue<string>(out string? text) && int.TryParse(text, out p) ? p
            : null;
        return new PeerAddress(agent, PeerEnvelope.GetString(obj, "host"), port);
    }
}
