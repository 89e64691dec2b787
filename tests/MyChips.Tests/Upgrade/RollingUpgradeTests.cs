using MyChips.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MyChips.Tests.Upgrade;

/// <summary>DESIGN.md 4.3: upgrades under load, with real processes of two code versions on one database.</summary>
[Collection(UpgradeCollection.Name)]
public sealed class RollingUpgradeTests(PostgresServer server, ITestOutputHelper output) : IDisposable
{
    private readonly MigrationFixtures _fixtures = new();

    [Fact]
    public async Task Expand_only_rolling_upgrade_under_load_answers_every_request_and_fails_none()
    {
        var connectionString = await server.CreateDatabaseAsync("rolling");
        var migrations = UpgradeMigrations.Standard(_fixtures);
        var database = new UpgradeDatabase(connectionString);
        var old = Enumerable.Range(0, 3).Select(_ => SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Probe, UpgradeMigrations.OldProbeSql)).ToList();
        var fresh = new List<SiteInstance>();
        try
        {
            foreach (var instance in old)
            {
                await instance.WaitForStateAsync("serving", TimeSpan.FromSeconds(60));
            }

            using var load = new ProbeLoad(old.Select(i => i.Url), workers: 4);
            using var stop = new CancellationTokenSource();
            var running = load.RunAsync(maxRequests: 20_000, maxDuration: TimeSpan.FromSeconds(90), stop.Token);
            await Wait.UntilAsync(() => load.Succeeded >= 50, TimeSpan.FromSeconds(30), "the load runs on the old instances");

            fresh.AddRange(Enumerable.Range(0, 3).Select(_ => SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Note, UpgradeMigrations.NoteProbeSql)));
            load.SetTargets(old.Concat(fresh).Select(i => i.Url));
            foreach (var instance in fresh)
            {
                await instance.WaitForStateAsync("serving", TimeSpan.FromSeconds(60));
            }

            // Expand only: the old code keeps serving next to the new.
            Assert.Equal(UpgradeMigrations.Note, await database.VersionAsync());
            foreach (var instance in old)
            {
                Assert.Equal("serving", (await instance.ReadinessAsync())?.State);
            }

            // Retire the old ones: one by SIGTERM, the others by the operator's drain request.
            old[0].Process.Terminate();
            var drain = await MyChipsProcess.RunAsync(["upgrade", "drain", "--older-than", "101", "--wait", "--db", connectionString]);
            Assert.Equal(0, drain.ExitCode);
            foreach (var instance in old)
            {
                Assert.Equal(0, await instance.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            }

            var afterDrain = load.Succeeded;
            await Wait.UntilAsync(() => load.Succeeded >= afterDrain + 200, TimeSpan.FromSeconds(30), "the load runs on the new instances");
            await stop.CancelAsync();
            await running;

            var outcomes = load.Outcomes.ToList();
            output.WriteLine($"sent {load.Sent}, answered {outcomes.Count}, succeeded {outcomes.Count(o => o.Succeeded)}, "
                + $"retried {outcomes.Count(o => o.Attempts > 1)}, held {outcomes.Count(o => o.HeldMs > 0)}");
            Assert.Equal(load.Sent, outcomes.Count);
            Assert.Empty(outcomes.Where(o => !o.Succeeded).Select(o => $"{o.Key}: {o.Final}"));
            Assert.Equal(outcomes.Count, await database.ScalarAsync<long>("SELECT count(*) FROM public.upgrade_probe"));
            Assert.Equal(outcomes.Sum(o => o.Amount), await database.ScalarAsync<long>("SELECT sum(amount) FROM public.upgrade_probe"));
            Assert.True(await database.ScalarAsync<long>("SELECT count(*) FROM public.upgrade_probe WHERE code_schema_version = 101 AND note = 'written by 101'") > 0);
            Assert.True(await database.ScalarAsync<long>("SELECT count(*) FROM public.upgrade_probe WHERE code_schema_version = 100") > 0);
            foreach (var instance in old)
            {
                Assert.Equal("stopped", await database.InstanceStateAsync(instance.Process.Pid));
            }

            Assert.Contains("Drain requested", string.Concat(old.Skip(1).Select(i => i.Process.Output)));
        }
        finally
        {
            foreach (var instance in old.Concat(fresh))
            {
                await instance.DisposeAsync();
            }
        }
    }

    public void Dispose() => _fixtures.Dispose();
}
