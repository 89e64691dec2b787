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
}
