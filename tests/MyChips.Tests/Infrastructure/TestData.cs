namespace MyChips.Tests.Infrastructure;

/// <summary>
/// Files of the repository's <c>TestData/</c> folder, which the project copies beside the test binaries, so a clone
/// of this repository alone has every input its tests read (see <c>TestData/README.md</c> for their sources).
/// </summary>
public static class TestData
{
    /// <summary>The snow library's Noise test vectors.</summary>
    public static string SnowNoiseVectors => File(Path.Combine("noise-vectors", "snow.txt"));

    /// <summary>The canonical-JSON vectors (serialisers S and D).</summary>
    public static string CanonicalJsonVectors => File(Path.Combine("canonical-json", "vectors.json"));

    /// <summary>The full path of <paramref name="relativePath"/> under the output's <c>TestData/</c>; throws when missing.</summary>
    public static string File(string relativePath)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "TestData", relativePath);
        if (!System.IO.File.Exists(path))
        {
            throw new FileNotFoundException(
                $"Test data '{relativePath}' is missing from {Path.GetDirectoryName(path)}; it is copied there from tests/MyChips.Tests/TestData by the build.", path);
        }

        return path;
    }
}
