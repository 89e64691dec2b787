namespace MyChips.Tests.Infrastructure;

/// <summary>Finds files of the repository and of <c>shared/</c> beside it, from the test's output directory.</summary>
public static class RepositoryPaths
{
    /// <summary>The first ancestor directory that holds <paramref name="relativePath"/>, joined with it.</summary>
    public static string Find(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relativePath);
            if (File.Exists(candidate) || Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"'{relativePath}' was not found above {AppContext.BaseDirectory}.");
    }

    /// <summary>A file of the shared folder that sits beside the checkout (../shared).</summary>
    public static string Shared(string relativePath) => Find(Path.Combine("shared", relativePath));

    /// <summary>The repository's schema folder.</summary>
    public static string SchemaDirectory => Find("schema");
}
