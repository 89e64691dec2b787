using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace MyChips.Tests.SelfContained;

/// <summary>
/// A clone of this repository alone (only committed files, nothing beside it) builds and passes the tests that read
/// vector files. It runs after every other collection, alone, so its build does not compete with timing-sensitive
/// tests for the CPU.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CloneCollection
{
    public const string Name = "clone";
}

[Collection(CloneCollection.Name)]
public sealed partial class RepositoryCloneTests
{
    // Set for the test run inside the clone, so that it can never run this test again (and clone the clone).
    private const string InsideCloneVariable = "MYCHIPS_TESTS_INSIDE_CLONE";

    // The inner run: the vector tests only. This class's name matches neither part.
    private const string InnerFilter = "FullyQualifiedName~NoiseVector|FullyQualifiedName~CanonicalJson";

    [Fact]
    public async Task A_clone_of_the_repository_alone_builds_and_passes_the_noise_and_canonical_json_vector_tests()
    {
        if (Environment.GetEnvironmentVariable(InsideCloneVariable) == "1")
        {
            throw new InvalidOperationException(
                $"The clone test ran inside its own clone: the inner filter ({InnerFilter}) must not match it.");
        }

        string repository = RepositoryRoot();
        var temp = CleanTempDirectory();
        try
        {
            string clone = Path.Combine(temp.FullName, "mychips");
            var cloned = await RunAsync("git", ["-c", "safe.directory=*", "clone", "--quiet", repository, clone],
                temp.FullName, TimeSpan.FromMinutes(1));
            Assert.True(cloned.ExitCode == 0, "git clone failed:\n" + cloned.Output);

            var built = await RunAsync("dotnet", ["build", "MyChips.sln", "--disable-build-servers", "-nodeReuse:false", "-nologo"],
                clone, TimeSpan.FromMinutes(6));
            Assert.True(built.ExitCode == 0, "dotnet build of the clone failed:\n" + Tail(built.Output));

            var tested = await RunAsync("dotnet",
                ["test", Path.Combine("tests", "MyChips.Tests"), "--no-build", "--nologo", "--filter", InnerFilter],
                clone, TimeSpan.FromMinutes(3));
            Assert.True(tested.ExitCode == 0, "dotnet test in the clone failed:\n" + Tail(tested.Output));

            var summary = SummaryLine().Match(tested.Output);
            Assert.True(summary.Success, "no test summary in:\n" + Tail(tested.Output));
            Assert.Equal("0", summary.Groups["failed"].Value);
            Assert.True(int.Parse(summary.Groups["passed"].Value, System.Globalization.CultureInfo.InvariantCulture) >= 40,
                "too few vector tests ran in the clone:\n" + Tail(tested.Output));
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task No_committed_file_points_at_a_folder_outside_the_repository()
    {
        string repository = RepositoryRoot();
        var listed = await RunAsync("git", ["-c", "safe.directory=*", "ls-files", "-z"], repository, TimeSpan.FromMinutes(1));
        Assert.True(listed.ExitCode == 0, "git ls-files failed:\n" + listed.Output);

        var hits = new List<string>();
        foreach (string file in listed.Output.Split('\0', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string name = Path.GetFileName(file);
            if (!TextExtensions.Contains(Path.GetExtension(file)) && name is not ("Dockerfile" or "run"))
            {
                continue;
            }

            string[] lines = await File.ReadAllLinesAsync(Path.Combine(repository, file));
            hits.AddRange(lines.Select((line, i) => (line, i))
                .Where(l => OutsideReference().IsMatch(l.line))
                .Select(l => $"{file}:{l.i + 1}: {l.line.Trim()}"));
        }

        Assert.Empty(hits);
    }

    private static readonly HashSet<string> TextExtensions =
        new([".cs", ".md", ".csproj", ".props", ".sln", ".yml", ".yaml", ".json", ".sh", ".sql"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A new temporary directory from which no reference folder (<c>shared/</c> with vectors) can be found by walking
    /// up, which is the point of the test: the system temp folder, or another candidate when something put one there.
    /// </summary>
    private static DirectoryInfo CleanTempDirectory()
    {
        string[] roots =
        [
            Path.GetTempPath(),
            "/var/tmp",
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "mychips-tests"),
        ];
        foreach (string root in roots)
        {
            if (string.IsNullOrEmpty(root) || HasReferenceFolderAbove(root))
            {
                continue;
            }

            try
            {
                Directory.CreateDirectory(root);
                return Directory.CreateDirectory(Path.Combine(root, "mychips-clone-" + Guid.NewGuid().ToString("N")[..8]));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Not writable here: try the next candidate.
            }
        }

        throw new InvalidOperationException(
            $"Every candidate temp folder ({string.Join(", ", roots)}) has a shared/ reference folder above it; the clone would not prove anything.");
    }

    private static bool HasReferenceFolderAbove(string path)
    {
        for (var dir = new DirectoryInfo(path); dir is not null; dir = dir.Parent)
        {
            string shared = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(shared, "noise-vectors")) || Directory.Exists(Path.Combine(shared, "canonical-json")))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The working tree the tests were built from: the first ancestor of the binaries with the solution and .git.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            // .git is a directory in a clone and a file in a worktree.
            string git = Path.Combine(dir.FullName, ".git");
            if (File.Exists(Path.Combine(dir.FullName, "MyChips.sln")) && (Directory.Exists(git) || File.Exists(git)))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No git checkout with MyChips.sln above {AppContext.BaseDirectory}; this test needs one.");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // The outer `dotnet test` leaves MSBuild and test-host variables behind; the inner tools must find their own.
        foreach (string key in info.Environment.Keys.ToList())
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase))
            {
                info.Environment.Remove(key);
            }
        }

        // No MSBuild node or build server may outlive the build: it would keep the output pipes (and a core) busy.
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment[InsideCloneVariable] = "1";

        using var process = new Process { StartInfo = info };
        var output = new StringBuilder();
        var gate = new Lock();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { output.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            lock (gate)
            {
                throw new TimeoutException($"'{fileName} {string.Join(' ', arguments)}' took more than {timeout.TotalMinutes:F0} min:\n{Tail(output.ToString())}");
            }
        }

        lock (gate)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    private static string Tail(string output) => output.Length <= 4000 ? output : "…" + output[^4000..];

    // A path to the reference folder that sits beside the project's own checkouts (relative, or under /work): a clone lacks it.
    [GeneratedRegex(@"(\.\.|/work)[/\\]shared\b")]
    private static partial Regex OutsideReference();

    [GeneratedRegex(@"Failed:\s+(?<failed>\d+), Passed:\s+(?<passed>\d+)")]
    private static partial Regex SummaryLine();
}
