using System.Collections;
using System.Reflection;

namespace MyChips.Data.Schema;

/// <summary>
/// The migrations a build of the code knows, in number order. Its highest number is the code's schema version.
/// </summary>
public sealed class MigrationSet : IReadOnlyList<Migration>
{
    private readonly Migration[] _migrations;

    private MigrationSet(IEnumerable<Migration> migrations)
    {
        _migrations = migrations.OrderBy(m => m.Number).ToArray();
        for (var i = 1; i < _migrations.Length; i++)
        {
            if (_migrations[i].Number == _migrations[i - 1].Number)
            {
                throw new SchemaException(SchemaErrorCode.InvalidMigration,
                    $"Two migrations share number {_migrations[i].Number}: {_migrations[i - 1].FileName} and {_migrations[i].FileName}.");
            }
        }
    }

    /// <summary>The schema version this code is built for: the highest migration number, 0 if none.</summary>
    public int CodeVersion => _migrations.Length == 0 ? 0 : _migrations[^1].Number;

    public int Count => _migrations.Length;

    public Migration this[int index] => _migrations[index];

    public Migration? Find(int number) => Array.Find(_migrations, m => m.Number == number);

    /// <summary>The migrations embedded in this build (the repository's <c>schema/</c> folder).</summary>
    public static MigrationSet Embedded()
    {
        var assembly = typeof(MigrationSet).Assembly;
        var migrations = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("schema/", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => Migration.Parse(n["schema/".Length..], ReadResource(assembly, n)));
        return new MigrationSet(migrations);
    }

    /// <summary>The migrations in a directory: an operator's override, or a test's fixture set.</summary>
    public static MigrationSet FromDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new SchemaException(SchemaErrorCode.InvalidMigration, $"Migrations directory '{directory}' does not exist.");
        }

        return new MigrationSet(Directory.GetFiles(directory, "*.sql")
            .Select(f => Migration.Parse(Path.GetFileName(f), File.ReadAllText(f))));
    }

    /// <summary>This set cut at a schema version: what an older build of the code knew.</summary>
    public MigrationSet UpTo(int version) => new(_migrations.Where(m => m.Number <= version));

    public IEnumerator<Migration> GetEnumerator() => ((IEnumerable<Migration>)_migrations).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
