using Serilog;
using Serilog.Extensions.Logging;

namespace MyChips.Server.Cli;

/// <summary>The console logger of verbs that run without the web host.</summary>
internal static class CliLogging
{
    public static ILoggerFactory CreateFactory() => new SerilogLoggerFactory(
        new LoggerConfiguration()
            .MinimumLevel.Information()
            .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose)
            .CreateLogger(),
        dispose: true);
}
