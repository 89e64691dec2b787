using System.CommandLine;
using MyChips.Peer.Noise.Vectors;
using MyChips.Server.Cli;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Noise;

public sealed class NoiseVectorTests
{
    [Fact]
    public async Task Every_snow_vector_passes()
    {
        var file = await NoiseVectorFile.LoadAsync(TestData.SnowNoiseVectors);
        var report = NoiseVectorRunner.Run(file);

        Assert.True(report.Failed == 0, string.Join(Environment.NewLine, report.Failures));
        Assert.Equal(408, report.Passed);
        Assert.Equal(0, report.Skipped);
        Assert.Equal("408 passed, 0 failed", report.Summary);
    }

    [Fact]
    public async Task A_vector_with_a_wrong_ciphertext_fails_and_a_448_vector_is_skipped()
    {
        var file = await NoiseVectorFile.LoadAsync(TestData.SnowNoiseVectors);
        var good = file.Vectors[0];
        var ciphertext = (byte[])good.Messages[0].Ciphertext.Clone();
        ciphertext[^1] ^= 1;
        var tampered = good with { Messages = [good.Messages[0] with { Ciphertext = ciphertext }, .. good.Messages[1..]] };
        var curve448 = good with { ProtocolName = good.ProtocolName.Replace("_25519_", "_448_", StringComparison.Ordinal) };

        var failed = NoiseVectorRunner.RunOne(tampered, 0);
        var skipped = NoiseVectorRunner.RunOne(curve448, 1);

        Assert.Equal(NoiseVectorStatus.Failed, failed.Status);
        Assert.Contains("ciphertext differs", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(NoiseVectorStatus.Skipped, skipped.Status);
    }

    [Fact]
    public async Task Cli_verb_prints_the_summary_and_exits_0_on_the_snow_file()
    {
        var (exitCode, output, _) = await InvokeAsync(TestData.SnowNoiseVectors);

        Assert.Equal(0, exitCode);
        Assert.Equal("408 passed, 0 failed", output.Trim());
    }

    [Fact]
    public async Task Cli_verb_exits_2_with_one_line_on_a_malformed_file()
    {
        string path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, "{\"vectors\": [ {\"protocol_name\": 3");
            var (exitCode, output, error) = await InvokeAsync(path);

            Assert.Equal(2, exitCode);
            Assert.Empty(output);
            Assert.Single(error.Trim().Split('\n'));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> InvokeAsync(string path)
    {
        var root = new RootCommand("test") { NoiseVectorsCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        var config = new InvocationConfiguration { Output = output, Error = error };
        int exitCode = await root.Parse(["noise-vectors", path]).InvokeAsync(config);
        return (exitCode, output.ToString(), error.ToString());
    }
}
