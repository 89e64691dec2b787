namespace MyChips.Server.Hosting;

/// <summary>The life states of a <c>mychips</c> process, as recorded in <c>mychips_meta.instances</c>.</summary>
public enum InstanceState
{
    Starting,
    Holding,
    Serving,
    Draining,
    Stopped,
    Fenced,
}
