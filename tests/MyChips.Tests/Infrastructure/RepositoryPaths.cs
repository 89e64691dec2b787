namespace MyChips.Tests.Infrastructure;

/// <summary>Finds files of the repository from the test's output directory.</summary>
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

    /// <summary>The repository's schema folder.</summary>
    public static string SchemaDirectory => Find("schema");
}
