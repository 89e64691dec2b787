using System.CommandLine;
using MyChips.Data.Upgrade;

namespace MyChips.Server.Cli;

/// <summary>
/// <c>mychips upgrade drain --instance ID | --older-than N [--wait]</c>: ask instances to stop taking new work,
/// finish what is in flight and exit (NOTIFY plus the registry), the same request the upgrade leader sends.
/// </summary>
internal static class UpgradeDrainCommand
{
    public static Command Create(SiteOptions site)
    {
        var instance = new Option<Guid?>("--instance") { CustomParser = CliParsers.Uuid, Description = "The id of the instance to drain (see 'mychips upgrade status')." };
        var olderThan = new Option<int?>("--older-than") { CustomParser = CliParsers.WholeNumber, Description = "Drain every instance whose code schema version is below this." };
        var wait = new Option<bool>("--wait") { Description = "Wait until the drained instances have stopped." };
        var timeout = new Option<int>("--timeout") { CustomParser = CliParsers.WholeNumberRequired, Description = "Seconds to wait with --wait (default 60).", DefaultValueFactory = _ => 60 };
        var command = new Command("drain", "Ask instances to drain: no new work, finish in-flight work, mark stopped, exit 0.")
        {
            instance, olderThan, wait, timeout,
        };
        command.Validators.Add(result =>
        {
            bool given;
            try
            {
                given = (result.GetValue(instance) is null) != (result.GetValue(olderThan) is null);
            }
            catch (InvalidOperationException)
            {
                return; // a value that did not parse: its parser already reported it (reading it throws, as a stack trace)
            }

            if (!given)
            {
                result.AddError("Give exactly one of --instance or --older-than.");
            }
        });
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            using var loggers = CliLogging.CreateFactory();
            await using var session = await SiteDatabaseSession.OpenAsync(site.Flags(result), loggers, cancellationToken).ConfigureAwait(false);
            var registry = new InstanceRegistry(session.DataSource);
            var request = result.GetValue(instance) is { } id
                ? DrainRequest.ForInstance(id, $"drain requested by the operator (pid {Environment.ProcessId})")
                : DrainRequest.ForOlderThan(result.GetValue(olderThan)!.Value, $"drain requested by the operator (pid {Environment.ProcessId})");
            var asked = await registry.RequestDrainAsync(request, cancellationToken).ConfigureAwait(false);
            Console.WriteLine(asked.Count == 0 ? "No working instance matched." : $"Asked {asked.Count} instance(s) to drain: {string.Join(", ", asked)}");
            if (!result.GetValue(wait) || asked.Count == 0)
            {
                return 0;
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(result.GetValue(timeout)));
            try
            {
                while (true)
                {
                    var live = (await registry.ListAsync(deadline.Token).ConfigureAwait(false))
                        .Where(i => asked.Contains(i.Id) && i.State != InstanceStates.Stopped).ToList();
                    if (live.Count == 0)
                    {
                        Console.WriteLine("All drained instances have stopped.");
                        return 0;
                    }

                    await Task.Delay(200, deadline.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine($"mychips: error [drain_timeout]: instances still running after {result.GetValue(timeout)} s.");
                return CliErrors.Failure;
            }
        }));
        return command;
    }
}
