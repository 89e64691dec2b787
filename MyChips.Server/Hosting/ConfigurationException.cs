namespace MyChips.Server.Hosting;

/// <summary>A configuration value is missing or malformed; the process refuses to start with this message.</summary>
public sealed class ConfigurationException(string message) : Exception(message)
{
    public const string Code = "config_invalid";
}
