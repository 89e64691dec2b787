namespace MyChips.Data.Upgrade;

/// <summary>The values of <c>mychips_meta.instances.state</c>.</summary>
public static class InstanceStates
{
    public const string Starting = "starting";
    public const string Holding = "holding";
    public const string Serving = "serving";
    public const string Draining = "draining";
    public const string Stopped = "stopped";
    public const string Fenced = "fenced";
}
