using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>
/// A protocol message (PROTOCOL 5.1): <c>{target, action, to, from, object?, ticket?}</c>. Messages between two users
/// of this site are applied by the receive path in the same transaction; others go to the outbox.
/// </summary>
public sealed record PeerMessage(string Target, string Action, Chad To, Chad From, JsonObject? Object, JsonObject? Ticket = null)
{
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["target"] = Target,
            ["action"] = Action,
            ["to"] = To.ToJson(),
            ["from"] = From.ToJson(),
        };
        if (Object is not null)
            json["object"] = Object.DeepClone();
        if (Ticket is not null)
            json["ticket"] = Ticket.DeepClone();
        return json;
    }

    /// <summary>Reads a wire message; null when <c>target</c>, <c>action</c>, <c>to</c> or <c>from</c> is missing or malformed.</summary>
    public static PeerMessage? FromJson(JsonObject json)
    {
        if (json["target"] is not JsonValue target || !target.TryGetValue<string>(out var t)
            || json["action"] is not JsonValue action || !action.TryGetValue<string>(out var a)
            || Chad.FromJson(json["to"]) is not { } to || Chad.FromJson(json["from"]) is not { } from)
            return null;
        return new PeerMessage(t, a, to, from, json["object"]?.DeepClone() as JsonObject, json["ticket"]?.DeepClone() as JsonObject);
    }
}
