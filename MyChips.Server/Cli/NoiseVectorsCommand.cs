using System.CommandLine;
using MyChips.Peer.Noise.Vectors;

namespace MyChips.Server.Cli;

/// <summary>
/// <c>noise-vectors FILE</c>: runs a Noise test-vector file (cacophony/snow JSON) against our implementation.
/// Prints one line per failed or skipped vector with the reason (<c>#3 Noise_…: Skipped: Curve448 not supported</c>),
/// then <c>N passed, N failed, N skipped</c>. Exit code 0 only when at least one vector passed and none failed
/// (a file of skipped vectors proves nothing), 1 otherwise, 2 when the file cannot be read or parsed.
/// </summary>
internal static class NoiseVectorsCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file")
        {
            Description = "Vector file in the cacophony/snow JSON format ({\"vectors\":[...]})",
        };
        var command = new Command("noise-vectors", "Check the Noise implementation against a test-vector file");
        command.Add(file);
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var path = result.GetRequiredValue(file);

            NoiseVectorFile vectors;
            try
            {
                vectors = await NoiseVectorFile.LoadAsync(path.FullName, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                await error.WriteLineAsync($"noise-vectors: cannot read {path.FullName}: {ex.Message}").ConfigureAwait(false);
                return 2;
            }

            var report = NoiseVectorRunner.Run(vectors, cancellationToken);
            foreach (var outcome in report.NotPassed)
            {
                await output.WriteLineAsync(outcome.ToString()).ConfigureAwait(false);
            }

            await output.WriteLineAsync(report.Summary).ConfigureAwait(false);
            if (report.Passed == 0)
            {
                await error.WriteLineAsync($"noise-vectors: no vector of {path.FullName} passed").ConfigureAwait(false);
            }

            return report.Succeeded ? 0 : 1;
        });
        return command;
    }
}
