using Microsoft.Extensions.Options;
using MyChips.Data;
using MyChips.Data.Domain;
using MyChips.Server.Peer;
using MyChips.Server.Upgrade;
using Npgsql;

namespace MyChips.Server.Hosting;

/// <summary>
/// Range checks of the settings a site runs on: a value that cannot work (negative, zero where zero means nothing,
/// absurdly large) stops the start with one message per bad key, before any database is started. The same checks run
/// as options validation on start, for hosts built without the CLI.
/// </summary>
internal static class SiteSettingsValidation
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);

    public static IServiceCollection AddSiteSettingsValidation(this IServiceCollection services)
    {
        services.AddSingleton<IValidateOptions<DomainOptions>, DomainOptionsValidation>();
        services.AddSingleton<IValidateOptions<SitePeerOptions>, SitePeerOptionsValidation>();
        services.AddSingleton<IValidateOptions<UpgradeOptions>, UpgradeOptionsValidation>();
        services.AddOptions<DomainOptions>().ValidateOnStart();
        services.AddOptions<SitePeerOptions>().ValidateOnStart();
        services.AddOptions<UpgradeOptions>().ValidateOnStart();
        return services;
    }

    /// <summary>Binds and checks every range-checked section; throws one <see cref="ConfigurationException"/> naming each bad key.</summary>
    public static void Validate(IConfiguration configuration)
    {
        var failures = new List<string>();
        failures.AddRange(DatabaseFailures(configuration.Bind<DatabaseOptions>(DatabaseOptions.Section)));
        failures.AddRange(DomainFailures(configuration.Bind<DomainOptions>(DomainOptions.Section)));
        failures.AddRange(PeerFailures(configuration.Bind<SitePeerOptions>(SitePeerOptions.Section)));
        failures.AddRange(UpgradeFailures(configuration.Bind<UpgradeOptions>(UpgradeOptions.Section)));
        if (failures.Count > 0)
            throw new ConfigurationException(string.Join("; ", failures));
    }

    /// <summary>The connection string parses, and its pool sizes (if given) are sane. The string itself is never echoed: it may hold a password.</summary>
    public static IEnumerable<string> DatabaseFailures(DatabaseOptions options)
    {
        if (options.UsesEmbeddedCluster)
            yield break;
        NpgsqlConnectionStringBuilder builder;
        string? error = null;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException e)
        {
            builder = new NpgsqlConnectionStringBuilder();
            error = $"Database:ConnectionString is invalid: {e.Message}";
        }

        if (error is not null)
        {
            yield return error;
            yield break;
        }

        if (builder.MaxPoolSize is < 1 or > 10_000)
            yield return $"Database:ConnectionString: Maximum Pool Size must be from 1 to 10000; got {builder.MaxPoolSize}";
        if (builder.MinPoolSize < 0 || builder.MinPoolSize > builder.MaxPoolSize)
            yield return $"Database:ConnectionString: Minimum Pool Size must be from 0 to Maximum Pool Size ({builder.MaxPoolSize}); got {builder.MinPoolSize}";
    }

    public static IEnumerable<string> DomainFailures(DomainOptions o)
    {
        const string s = DomainOptions.Section;
        return new[]
        {
            Between($"{s}:{nameof(o.TicketLifetime)}", o.TicketLifetime, TimeSpan.FromSeconds(1), Year),
            Between($"{s}:{nameof(o.SessionLifetime)}", o.SessionLifetime, TimeSpan.FromSeconds(1), Year),
            Between($"{s}:{nameof(o.SessionCacheTime)}", o.SessionCacheTime, TimeSpan.Zero, TimeSpan.FromHours(1)),
            Between($"{s}:{nameof(o.ChallengeLifetime)}", o.ChallengeLifetime, TimeSpan.FromSeconds(1), Day),
            Between($"{s}:{nameof(o.InvitationLifetime)}", o.InvitationLifetime, TimeSpan.FromSeconds(1), Year),
            Between($"{s}:{nameof(o.RedemptionLifetime)}", o.RedemptionLifetime, TimeSpan.FromSeconds(1), Year),
            Between($"{s}:{nameof(o.AgentPort)}", o.AgentPort, 1, 65535),
        }.OfType<string>();
    }

    public static IEnumerable<string> PeerFailures(SitePeerOptions o)
    {
        const string s = SitePeerOptions.Section;
        return new[]
        {
            Between($"{s}:{nameof(o.ReceiptTimeout)}", o.ReceiptTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1)),
            Between($"{s}:{nameof(o.MaxRetryWait)}", o.MaxRetryWait, TimeSpan.FromMilliseconds(10), Day),
            Between($"{s}:{nameof(o.MaxTries)}", o.MaxTries, 1, 1_000_000),
            Between($"{s}:{nameof(o.ChainResyncAfter)}", o.ChainResyncAfter, TimeSpan.FromMilliseconds(100), Day),
            Between($"{s}:{nameof(o.Window)}", o.Window, 1, 10_000),
            Between($"{s}:{nameof(o.BatchSize)}", o.BatchSize, 1, 10_000),
            Between($"{s}:{nameof(o.PollInterval)}", o.PollInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1)),
            Between($"{s}:{nameof(o.OfferRate)}", o.OfferRate, 1, 100_000),
        }.OfType<string>();
    }

    public static IEnumerable<string> UpgradeFailures(UpgradeOptions o)
    {
        const string s = UpgradeOptions.Section;
        var failures = new[]
        {
            Between($"{s}:{nameof(o.HoldTimeout)}", o.HoldTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1)),
            Between($"{s}:{nameof(o.DrainTimeout)}", o.DrainTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1)),
            Between($"{s}:{nameof(o.HeartbeatInterval)}", o.HeartbeatInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1)),
            Between($"{s}:{nameof(o.HeartbeatExpiry)}", o.HeartbeatExpiry, TimeSpan.FromMilliseconds(20), TimeSpan.FromHours(1)),
            Between($"{s}:{nameof(o.OldInstanceWaitTimeout)}", o.OldInstanceWaitTimeout, TimeSpan.FromMilliseconds(1), Day),
        }.OfType<string>().ToList();
        // An expiry within one interval would count live instances as dead between two heartbeats.
        if (o.HeartbeatExpiry <= o.HeartbeatInterval && o.HeartbeatInterval > TimeSpan.Zero)
            failures.Add($"{s}:{nameof(o.HeartbeatExpiry)} must be longer than {s}:{nameof(o.HeartbeatInterval)} ({o.HeartbeatInterval}); got {o.HeartbeatExpiry}");
        if (!Enum.IsDefined(o.FencedBehaviour))
            failures.Add($"{s}:{nameof(o.FencedBehaviour)} must be {string.Join(" or ", Enum.GetNames<FencedBehaviour>())}; got {o.FencedBehaviour}");
        return failures;
    }

    private static string? Between(string key, TimeSpan value, TimeSpan min, TimeSpan max) =>
        value >= min && value <= max ? null : $"{key} must be from {min} to {max}; got {value}";

    private static string? Between(string key, int value, int min, int max) =>
        value >= min && value <= max ? null : $"{key} must be from {min} to {max}; got {value}";

    private sealed class DomainOptionsValidation : IValidateOptions<DomainOptions>
    {
        public ValidateOptionsResult Validate(string? name, DomainOptions options) => Result(DomainFailures(options));
    }

    private sealed class SitePeerOptionsValidation : IValidateOptions<SitePeerOptions>
    {
        public ValidateOptionsResult Validate(string? name, SitePeerOptions options) => Result(PeerFailures(options));
    }

    private sealed class UpgradeOptionsValidation : IValidateOptions<UpgradeOptions>
    {
        public ValidateOptionsResult Validate(string? name, UpgradeOptions options) => Result(UpgradeFailures(options));
    }

    private static ValidateOptionsResult Result(IEnumerable<string> failures)
    {
        var list = failures.ToList();
        return list.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(list);
    }
}
