using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Hosting;

/// <summary>
/// A bad <c>RateLimit</c>, <c>Retention</c> or <c>Peer:*Networks</c> value stops <c>mychips serve</c> with one
/// <c>mychips: error [config_invalid]</c> line naming the key and exit code 2, not a stack trace.
/// </summary>
[Collection(HostingCollection.Name)]
public sealed class HygieneSettingsTests(PostgresServer server)
{
    [Theory]
    [InlineData("MYCHIPS__RateLimit__LoginPerMinute", "0", "RateLimit:LoginPerMinute")]
    [InlineData("MYCHIPS__Retention__ReceivedMessages", "01:00:00", "Retention:ReceivedMessages")]
    [InlineData("MYCHIPS__Peer__AllowedNetworks", "127.0.0.0/8,localhost", "Peer:AllowedNetworks")]
    public async Task A_bad_value_is_a_configuration_error_naming_the_key(string variable, string value, string key)
    {
        var database = await server.CreateDatabaseAsync("hygcfg");

        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--db", database, "--web", "http://127.0.0.1:0"],
            new Dictionary<string, string> { [variable] = value });

        Assert.True(exitCode == 2, output);
        Assert.Contains("mychips: error [config_invalid]", output, StringComparison.Ordinal);
        Assert.Contains(key, output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }
}
