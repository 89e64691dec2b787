using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MyChips.Data.Domain;
using MyChips.Server.Hosting;
using MyChips.Server.Peer;
using MyChips.Server.Upgrade;
using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Hosting;

/// <summary>Settings are range-checked at start: a bad value stops the process with one line naming the key, exit 2.</summary>
public sealed class SettingsValidationTests
{
    // Nothing listens on port 1: a value that slipped through would end in database_unreachable (exit 1) instead.
    private const string NoDatabase = "Host=127.0.0.1;Port=1;Username=x;Database=x;Timeout=2";

    [Theory]
    [InlineData("Peer__MaxTries", "0", "Peer:MaxTries")]
    [InlineData("Peer__ReceiptTimeout", "-00:00:01", "Peer:ReceiptTimeout")]
    [InlineData("Peer__Window", "many", "Peer:Window")]
    [InlineData("Peer__BatchSize", "1000000", "Peer:BatchSize")]
    [InlineData("Peer__PollInterval", "00:00:00", "Peer:PollInterval")]
    [InlineData("Peer__ChainResyncAfter", "10675199.00:00:00", "Peer:ChainResyncAfter")]
    [InlineData("Domain__SessionLifetime", "00:00:00", "Domain:SessionLifetime")]
    [InlineData("Domain__InvitationLifetime", "-1.00:00:00", "Domain:InvitationLifetime")]
    [InlineData("Upgrade__HeartbeatInterval", "10675199.00:00:00", "Upgrade:HeartbeatInterval")]
    [InlineData("Upgrade__HoldTimeout", "soon", "Upgrade:HoldTimeout")]
    public async Task A_bad_setting_is_refused_at_start_naming_its_key_with_exit_code_2(string variable, string value, string key)
    {
        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--db", NoDatabase, "--web", "http://127.0.0.1:0"],
            new Dictionary<string, string> { ["MYCHIPS__" + variable] = value });

        var line = OperatorErrorTests.AssertOneErrorLine(output, "config_invalid");
        Assert.Contains(key, line);
        Assert.Equal(2, exitCode);
    }

    [Theory]
    [InlineData("Maximum Pool Size=0")]
    [InlineData("Maximum Pool Size=100000")]
    [InlineData("Minimum Pool Size=50;Maximum Pool Size=10")]
    public async Task A_bad_pool_size_in_the_connection_string_is_refused_at_start_with_exit_code_2(string pool)
    {
        var (exitCode, output) = await MyChipsProcess.RunAsync(["serve", "--db", $"{NoDatabase};{pool}", "--web", "http://127.0.0.1:0"]);

        var line = OperatorErrorTests.AssertOneErrorLine(output, "config_invalid");
        Assert.Contains("Pool Size", line);
        Assert.Equal(2, exitCode);
    }

    [Fact]
    public async Task The_defaults_are_accepted_and_a_bad_value_fails_options_validation_in_a_host_built_without_the_cli()
    {
        await using var defaults = SiteHost.Build(SiteHost.CreateBuilder(new Dictionary<string, string?>(), NoDatabase));
        _ = defaults.Services.GetRequiredService<IOptions<DomainOptions>>().Value;
        _ = defaults.Services.GetRequiredService<IOptions<SitePeerOptions>>().Value;
        _ = defaults.Services.GetRequiredService<IOptions<UpgradeOptions>>().Value;
        SiteSettingsValidation.Validate(SiteConfiguration.Build(new Dictionary<string, string?>()));

        // The host reads Upgrade:DrainTimeout for its shutdown timeout while it is built, so that is where it fails.
        var refused = Assert.Throws<OptionsValidationException>(() =>
            SiteHost.Build(SiteHost.CreateBuilder(new Dictionary<string, string?> { ["Upgrade:DrainTimeout"] = "00:00:00" }, NoDatabase)));
        Assert.Contains("Upgrade:DrainTimeout", refused.Message);
    }
}
