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

    /// <summary>
    /// Refuses a CHAD a user typed or pasted that this site could not store or route to (the <c>mychips.agents</c>
    /// check constraints): a cuid outside <see cref="CuidRule"/>, an agent that is not 43 base64url characters, an empty
    /// or overlong host, a port outside 1 to 65535.
    /// </summary>
    public void EnsureValid(string field)
    {
        if (!CuidRule.IsValid(Cuid))
            throw DomainErrors.InvalidField($"{field}.cuid", "must be 1 to 64 characters of A-Z a-z 0-9 _ . ~ -.");
        if (Agent.Length != 43 || !Agent.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            throw DomainErrors.InvalidField($"{field}.agent", "must be an agent id: 43 characters of base64url.");
        if (Host is not null && (Host.Length is 0 or > 253 || Host.Any(char.IsControl) || Host.Any(char.IsWhiteSpace)))
            throw DomainErrors.InvalidField($"{field}.host", "must be a host name or address of 1 to 253 characters.");
        if (Port is not null and not (>= 1 and <= 65535))
            throw DomainErrors.InvalidField($"{field}.port", "must be from 1 to 65535.");
    }

    public bool SameUser(Chad other) => Cuid == other.Cuid && Agent == other.Agent;
}
