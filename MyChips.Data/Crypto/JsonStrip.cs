using System.Text.Json.Nodes;

namespace MyChips.Data.Crypto;

/// <summary>PostgreSQL <c>jsonb_strip_nulls</c> (PROTOCOL §3.6).</summary>
public static class JsonStrip
{
    /// <summary>
    /// Returns a copy without null-valued object members, at every depth (also in objects inside arrays);
    /// null array elements stay. Number literals are kept as written.
    /// </summary>
    public static JsonNode? StripNulls(JsonNode? node) => node switch
    {
        JsonObject obj => StripObject(obj),
        JsonArray arr => StripArray(arr),
        null => null,
        _ => node.DeepClone(),
    };

    private static JsonObject StripObject(JsonObject obj)
    {
        var result = new JsonObject();
        foreach (var (key, value) in obj)
        {
            if (value is null || (value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Null))
                continue;
            result[key] = StripNulls(value);
        }
        return result;
    }

    private static JsonArray StripArray(JsonArray arr)
    {
        var result = new JsonArray();
        foreach (var item in arr)
            result.Add(StripNulls(item));
        return result;
    }
}
