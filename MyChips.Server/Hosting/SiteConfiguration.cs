namespace MyChips.Server.Hosting;

/// <summary>
/// The configuration sources of a site, lowest precedence first: <c>appsettings.json</c> beside the executable,
/// <c>appsettings.{Environment}.json</c>, <c>MYCHIPS__Section__Key</c> environment variables, command-line flags.
/// </summary>
internal static class SiteConfiguration
{
    public const string EnvironmentPrefix = "MYCHIPS__";

    public static void AddSiteSources(this IConfigurationBuilder configuration, IReadOnlyDictionary<string, string?> flags)
    {
        var environment = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT")
            ?? Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? "Production";
        configuration
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, $"appsettings.{environment}.json"), optional: true)
            .AddEnvironmentVariables(EnvironmentPrefix)
            .AddInMemoryCollection(flags);
    }

    public static IConfiguration Build(IReadOnlyDictionary<string, string?> flags)
    {
        var builder = new ConfigurationBuilder();
        builder.AddSiteSources(flags);
        return builder.Build();
    }

    /// <summary>Binds a section, turning a malformed value into a <see cref="ConfigurationException"/>.</summary>
    public static T Bind<T>(this IConfiguration configuration, string section) where T : new()
    {
        try
        {
            return configuration.GetSection(section).Get<T>() ?? new T();
        }
        catch (InvalidOperationException e)
        {
            // The binder's own message names the key ("... at 'Web:MaxSockets' ..."); the inner one says why.
            throw new ConfigurationException($"Configuration section '{section}' is invalid: {e.Message}{(e.InnerException is { } inner ? $" ({inner.Message})" : "")}");
        }
    }
}
