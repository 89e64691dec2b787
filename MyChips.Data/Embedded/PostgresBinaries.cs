using System.Diagnostics;

namespace MyChips.Data.Embedded;

/// <summary>
/// The directory holding a PostgreSQL server installation's <c>initdb</c>, <c>pg_ctl</c> and <c>postgres</c>.
/// </summary>
public sealed record PostgresBinaries(string Directory)
{
    private static readonly string[] RequiredPrograms = ["initdb", "pg_ctl", "postgres"];

    public string InitDb => Path.Combine(Directory, "initdb");

    public string PgCtl => Path.Combine(Directory, "pg_ctl");

    /// <summary>
    /// Finds the server binaries: an explicit directory if given, else PATH, else <c>pg_config --bindir</c>,
    /// else the newest <c>/usr/lib/postgresql/*/bin</c>.
    /// </summary>
    /// <exception cref="PostgresNotFoundException">No directory holds all three programs.</exception>
    public static PostgresBinaries Locate(string? explicitDirectory = null)
    {
        var candidates = explicitDirectory is not null
            ? [explicitDirectory]
            : CandidateDirectories();
        foreach (var directory in candidates)
        {
            if (RequiredPrograms.All(p => File.Exists(Path.Combine(directory, p))))
            {
                return new PostgresBinaries(ResolveDirectory(directory));
            }
        }

        throw new PostgresNotFoundException(explicitDirectory);
    }

    private static IEnumerable<string> CandidateDirectories()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var entry in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            yield return entry;
        }

        if (PgConfigBinDir() is { } fromPgConfig)
        {
            yield return fromPgConfig;
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (System.IO.Directory.Exists(debianRoot))
        {
            // Newest major version first: "15" sorts after "9" only numerically.
            var versions = System.IO.Directory.GetDirectories(debianRoot)
                .Select(d => (Dir: d, Major: int.TryParse(Path.GetFileName(d), out var m) ? m : -1))
                .OrderByDescending(v => v.Major);
            foreach (var (dir, _) in versions)
            {
                yield return Path.Combine(dir, "bin");
            }
        }
    }

    private static string? PgConfigBinDir()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("pg_config", "--bindir")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // pg_config itself is not installed.
        }
    }

    // /usr/local/bin/initdb is often a symlink into the real bindir; the real one also holds postgres.
    private static string ResolveDirectory(string directory)
    {
        var initdb = new FileInfo(Path.Combine(directory, "initdb"));
        var target = initdb.ResolveLinkTarget(returnFinalTarget: true);
        return target is not null ? Path.GetDirectoryName(target.FullName)! : initdb.DirectoryName!;
    }
}
