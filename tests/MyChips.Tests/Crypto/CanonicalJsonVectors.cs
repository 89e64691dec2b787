using System.Text.Json;

namespace MyChips.Tests.Crypto;

/// <summary>The shared vectors file, found by walking up from the test binaries to a sibling <c>shared/</c> folder.</summary>
internal static class CanonicalJsonVectors
{
    private const string RelativePath = "shared/canonical-json/vectors.json";

    public static string FindFile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, RelativePath);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException($"{RelativePath} not found above {AppContext.BaseDirectory}");
    }

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
