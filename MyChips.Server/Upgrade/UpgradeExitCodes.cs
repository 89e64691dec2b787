using MyChips.Server.Hosting;

namespace MyChips.Server.Upgrade;

/// <summary>The exit codes of <c>mychips serve</c> that the upgrade mode decides.</summary>
public static class UpgradeExitCodes
{
    /// <summary>The instance stopped in order (SIGTERM or a drain request).</summary>
    public const int Stopped = 0;

    /// <summary>The instance was fenced: its code is older than the database's <c>min_code_version</c>.</summary>
    public const int Fenced = 3;

    public static int For(IServiceProvider services) =>
        services.GetRequiredService<InstanceStatus>().State == InstanceState.Fenced ? Fenced : Stopped;
}
