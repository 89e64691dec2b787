using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MyChips.Peer.Transport;

/// <summary>The few envelope members the transport reads or writes (PROTOCOL §5.1); everything else is the domain's.</summary>
public static class PeerEnvelope
{
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };

    // A member name given twice is refused at parse time (the framework's check, at every depth): a JsonObject built
    // lazily from such text threw ArgumentException on first access, outside the per-message refusal path; and which
    // of the two values counts is a guess the sender and we could make differently. Trailing data is refused too.
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    // Plain JSON text on the wire, as the reference writes it: the default encoder escapes HTML-sensitive characters
    // ("+" in a cert.date "…+00:00" became "\u002B") and all non-ASCII, but a peer message is never put into HTML.
    // Signatures and digests do not depend on these bytes: they are computed from the parsed values (S and D forms).
    private static readonly JsonSerializerOptions WriteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The UTF-8 wire text of <paramref name="message"/>.</summary>
    public static byte[] Serialize(JsonObject message) => JsonSerializer.SerializeToUtf8Bytes(message, WriteOptions);

    /// <summary>Parses one wire message; it must be a single JSON object with each member name given once.</summary>
    public static JsonObject Parse(ReadOnlySpan<byte> utf8)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(utf8, NodeOptions, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new PeerProtocolException(PeerCloseReason.MalformedMessage, $"The message is not valid JSON: {e.Message}", e);
        }

        return node as JsonObject
            ?? throw new PeerProtocolException(PeerCloseReason.MalformedMessage, "The message is not a JSON object.");
    }

    /// <summary><c>from.agent</c>, or null when absent or not a string.</summary>
    public static string? FromAgent(JsonObject message) =>
        message["from"] is JsonObject from ? GetString(from, "agent") : null;

    /// <summary>A tally <c>ticket</c> that carries a <c>ticket</c> member opens with IK (PROTOCOL §4.4).</summary>
    public static bool IsTicket(JsonObject message) =>
        GetString(message, "target") == "tally" && message.ContainsKey("ticket");

    /// <summary>
    /// The initiator's rewrite of <c>from.agent</c>/<c>host</c>/<c>port</c> (PROTOCOL §4.4); <c>from.cuid</c> is kept.
    /// Applied to every outgoing message, so envelope rule 2 holds on all of them.
    /// </summary>
    public static void StampFrom(JsonObject message, PeerIdentity identity)
    {
        if (message["from"] is not JsonObject from)
        {
            from = new JsonObject();
            message["from"] = from;
        }

        from["agent"] = identity.AgentId;
        if (identity.Host is not null)
        {
            from["host"] = identity.Host;
        }

        if (identity.Port is not null)
        {
            from["port"] = identity.Port.Value;
        }
    }

    /// <summary>Parses a JSON string literal (the N payload); null if the bytes are anything else.</summary>
    public static string? ParseJsonString(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                return null;
            }

            string? value = reader.GetString();
            return reader.Read() ? null : value;
        }
        catch (JsonException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    internal static string? GetString(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
