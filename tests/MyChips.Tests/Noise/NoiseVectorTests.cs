using System.CommandLine;
using System.Text.Json.Nodes;
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
        Assert.Equal("408 passed, 0 failed, 0 skipped", report.Summary);
        Assert.True(report.Succeeded);
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
        Assert.Equal("Curve448 not supported", skipped.Reason);
    }

    [Fact]
    public async Task Cli_verb_prints_the_summary_and_exits_0_on_the_snow_file()
    {
        var (exitCode, output, _) = await InvokeAsync(TestData.SnowNoiseVectors);

        Assert.Equal(0, exitCode);
        Assert.Equal("408 passed, 0 failed, 0 skipped", output.Trim());
    }

    [Fact]
    public async Task Cli_verb_prints_why_each_vector_was_skipped_and_exits_0_when_the_rest_passed()
    {
        var good = await SnowVectorAsync(0);
        string name = good["protocol_name"]!.GetValue<string>(); // Noise_N_25519_ChaChaPoly_BLAKE2s
        using var file = VectorFile(
            good,
            Renamed(good, name.Replace("_25519_", "_448_", StringComparison.Ordinal)),
            Renamed(good, name.Replace("Noise_N_", "Noise_Nfallback_", StringComparison.Ordinal)),
            Renamed(good, "Noise_N_25519_ChaChaPoly"));

        var (exitCode, output, error) = await InvokeAsync(file.Path);

        var lines = Lines(output);
        Assert.Equal(
            [
                "#1 Noise_N_448_ChaChaPoly_BLAKE2s: Skipped: Curve448 not supported",
                "#2 Noise_Nfallback_25519_ChaChaPoly_BLAKE2s: Skipped: Pattern 'Nfallback': modifier 'fallback' is not supported (only pskN).",
                "#3 Noise_N_25519_ChaChaPoly: Skipped: malformed name: 'Noise_N_25519_ChaChaPoly' is not of the form Noise_<pattern>_<dh>_<cipher>_<hash>.",
                "1 passed, 0 failed, 3 skipped",
            ],
            lines);
        Assert.Equal(0, exitCode);
        Assert.Empty(error);
    }

    [Fact]
    public async Task Cli_verb_exits_1_and_names_the_vector_when_one_is_corrupted()
    {
        var good = await SnowVectorAsync(0);
        var corrupted = good.DeepClone();
        string ciphertext = corrupted["messages"]![0]!["ciphertext"]!.GetValue<string>();
        corrupted["messages"]![0]!["ciphertext"] = ciphertext[..^1] + (ciphertext[^1] == '0' ? '1' : '0');
        using var file = VectorFile(good, corrupted);

        var (exitCode, output, _) = await InvokeAsync(file.Path);

        var lines = Lines(output);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("#1 Noise_N_25519_ChaChaPoly_BLAKE2s: Failed: handshake message 0: ciphertext differs", lines[0], StringComparison.Ordinal);
        Assert.Equal("1 passed, 1 failed, 0 skipped", lines[1]);
        Assert.Equal(1, exitCode);
    }

    [Fact]
    public async Task Cli_verb_exits_1_when_no_vector_passes_even_if_none_failed()
    {
        var good = await SnowVectorAsync(0);
        string name = good["protocol_name"]!.GetValue<string>();
        using var skippedOnly = VectorFile(Renamed(good, name.Replace("_25519_", "_448_", StringComparison.Ordinal)));
        using var empty = VectorFile();

        var (skippedExit, skippedOutput, skippedError) = await InvokeAsync(skippedOnly.Path);
        var (emptyExit, emptyOutput, emptyError) = await InvokeAsync(empty.Path);

        Assert.Equal("0 passed, 0 failed, 1 skipped", Lines(skippedOutput)[^1]);
        Assert.Equal(1, skippedExit);
        Assert.Contains("no vector", skippedError, StringComparison.Ordinal);
        Assert.Equal("0 passed, 0 failed, 0 skipped", emptyOutput.Trim());
        Assert.Equal(1, emptyExit);
        Assert.Contains("no vector", emptyError, StringComparison.Ordinal);
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

    private static async Task<JsonNode> SnowVectorAsync(int index)
    {
        var root = JsonNode.Parse(await File.ReadAllTextAsync(TestData.SnowNoiseVectors))!;
        return root["vectors"]![index]!.DeepClone();
    }

    private static JsonNode Renamed(JsonNode vector, string protocolName)
    {
        var copy = vector.DeepClone();
        copy["protocol_name"] = protocolName;
        return copy;
    }

    private static TempVectorFile VectorFile(params JsonNode[] vectors)
    {
        var root = new JsonObject { ["vectors"] = new JsonArray([.. vectors.Select(v => v.DeepClone())]) };
        string path = Path.GetTempFileName();
        File.WriteAllText(path, root.ToJsonString());
        return new TempVectorFile(path);
    }

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private sealed record TempVectorFile(string Path) : IDisposable
    {
        public void Dispose() => File.Delete(Path);
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
