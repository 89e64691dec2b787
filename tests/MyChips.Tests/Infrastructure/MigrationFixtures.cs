namespace MyChips.Tests.Infrastructure;

/// <summary>
/// Builds migration folders for tests: the real schema plus extra files, as a newer or edited build would carry.
/// </summary>
public sealed class MigrationFixtures : IDisposable
{
    private readonly List<string> _directories = [];

    /// <summary>A copy of the repository's schema folder with the given extra (or replacing) files.</summary>
    public string WithRealSchema(params (string FileName, string Sql)[] files)
    {
        var directory = Path.Combine(Path.GetTempPath(), "mychips-migrations-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        _directories.Add(directory);
        foreach (var file in Directory.GetFiles(RepositoryPaths.SchemaDirectory, "*.sql"))
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        }

        foreach (var (fileName, sql) in files)
        {
            File.WriteAllText(Path.Combine(directory, fileName), sql);
        }

        return directory;
    }

    public void Dispose()
    {
        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
