using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>A CHIP address <c>{cuid, agent, host, port}</c> (PROTOCOL 2.1); host and port are routing hints.</summary>
public sealed record Chad(string Cuid, string Agent, string? Host, int? Port)
{
    public JsonObject ToJson()
    {
        var obj = new JsonObject { ["cuid"] = Cuid, ["agent"] = Agent };
        if (Host is not null)
            obj["host"] = Host;
        if (Port is not null)
            obj["port"] = Port;
        return obj;
    }

    /// <summary>Reads a CHAD; null when the node is not an object with string <c>cuid</c> and <c>agent</c>.</summary>
    public static Chad? FromJson(JsonNode? node)
    {
        if (node is not JsonObject obj
            || obj["cuid"] is not JsonValue cuid || !cuid.TryGetValue<string>(out var c)
            || obj["agent"] is not JsonValue agent || !agent.TryGetValue<string>(out var a))
            return null;
        string? host = obj["host"] is JsonValue h && h.TryGetValue<string>(out var hs) ? hs : null;
        int? port = obj["port"] is JsonValue p && p.TryGetValue<int>(out var pi) ? pi : null;
        return new Chad(c, a, host, port);
    }

    public bool SameUser(Chad other) => Cuid == other.Cuid && Agent == other.Agent;
}
