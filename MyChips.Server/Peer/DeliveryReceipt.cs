using System.Text.Json.Nodes;

namespace MyChips.Server.Peer;

/// <summary>
/// The receipt between our nodes (not in the reference protocol, which ignores an unknown target): after the receiver
/// has committed a message that carried an <c>id</c>, or found that id already applied, it answers
/// <c>{"target":"receipt","action":"ack","id":…}</c>; a refusal answers <c>nak</c> with the reason. Only a receipt
/// marks an outbox row delivered; a socket write does not.
/// </summary>
internal static class DeliveryReceipt
{
    public const string Target = "receipt";

    public static JsonObject Create(JsonObject received, string id, string? refusal)
    {
        var from = received["from"] as JsonObject;
        var to = received["to"] as JsonObject;
        var receipt = new JsonObject
        {
            ["target"] = Target,
            ["action"] = refusal is null ? "ack" : "nak",
            ["id"] = id,
            ["to"] = from?.DeepClone(),
            ["from"] = new JsonObject { ["cuid"] = to?["cuid"]?.DeepClone() },
        };
        if (refusal is not null)
            receipt["reason"] = refusal.Length > 500 ? refusal[..500] : refusal;
        return receipt;
    }
}
