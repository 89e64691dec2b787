using System.Text.Json;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Crypto;

/// <summary>The canonical-JSON vectors of <c>TestData/canonical-json/vectors.json</c>, by name.</summary>
internal static class CanonicalJsonVectors
{
    public static string FindFile() => TestData.CanonicalJsonVectors;

    public static JsonElement Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FindFile()));
        foreach (var v in doc.RootElement.GetProperty("vectors").EnumerateArray())
            if (v.GetProperty("name").GetString() == name)
                return v.Clone();
        throw new KeyNotFoundException(name);
    }

    public static TheoryData<string> Names()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FindFile()));
        var data = new TheoryData<string>();
        foreach (var v in doc.RootElement.GetProperty("vectors").EnumerateArray())
            data.Add(v.GetProperty("name").GetString()!);
        return data;
    }
}
