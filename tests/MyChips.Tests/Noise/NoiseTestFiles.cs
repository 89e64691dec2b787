namespace MyChips.Tests.Noise;

/// <summary>Finds the shared vector file, which sits beside the checkout (/work/shared, or /tmp/ci/shared in CI).</summary>
internal static class NoiseTestFiles
{
    public static string SnowVectors => Find(Path.Combine("shared", "noise-vectors", "snow.txt"));

    private static string Find(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"'{relative}' was not found in any parent of {AppContext.BaseDirectory}.");
    }
}
