using System.Text.Json;
using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>Reads a <see cref="JsonValue"/> the way a JSON parser would see its serialised text.</summary>
internal static class JsonLeaf
{
    /// <summary>
    /// The number literal text. For a parsed node this is the original literal (the canonical forms depend on it);
    /// for a CLR value it is what System.Text.Json writes for that value.
    /// </summary>
    public static string NumberLiteral(JsonValue value)
    {
        if (value.TryGetValue(out JsonElement element))
            return element.GetRawText();
        return value.ToJsonString();
    }

    public static string String(JsonValue value)
    {
        if (value.TryGetValue(out string? s))
            return s;
        // Guid, DateTimeOffset, char, enums…: take the string System.Text.Json would write.
        using var doc = JsonDocument.Parse(value.ToJsonString());
        return doc.RootElement.GetString()!;
    }
}
