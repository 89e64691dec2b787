using Serilog.Events;

namespace MyChips.Server.Hosting;

/// <summary>
/// The generic host's log events that only repeat a failed start with a stack trace: the exception itself reaches
/// the caller (the CLI prints it as one <c>mychips: error [code]</c> line), and the background services it cancels on
/// the way out are not failures.
/// </summary>
internal static class HostStartupNoise
{
    public static bool Matches(LogEvent e) =>
        e.Properties.TryGetValue("EventId", out var id) && id is StructureValue structure
        && structure.Properties.FirstOrDefault(p => p.Name == "Name")?.Value is ScalarValue { Value: string name }
        && (name == "HostedServiceStartupFaulted"
            || (name is "BackgroundServiceFaulted" or "BackgroundServiceStoppingHost" && e.Exception is OperationCanceledException));
}
