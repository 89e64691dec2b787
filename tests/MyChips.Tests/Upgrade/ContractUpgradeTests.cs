using System.Text.RegularExpressions;
using MyChips.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MyChips.Tests.Upgrade;

/// <summary>DESIGN.md 4.3 and 4.4: a contract migration under load drains the old code, then runs, once.</summary>
[Collection(UpgradeCollection.Name)]
public sealed partial class ContractUpgradeTests(PostgresServer server, ITestOutputHelper output) : IDisposable
{
    private readonly MigrationFixtures _fixtures = new();

    [Fact]
    public async Task Contract_upgrade_under_load_migrates_once_holds_then_serves_and_no_old_code_writes_after_it()
    {
        var connectionString = await server.CreateDatabaseAsync("contract");
        var migrations = UpgradeMigrations.Standard(_fixtures);
        var database = new UpgradeDatabase(connectionString);
        var old = Enumerable.Range(0, 3).Select(_ => SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Note, UpgradeMigrations.OldProbeSql)).ToList();
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

            // The deploy: three new instances at once, added to the balancer at once.
            fresh.AddRange(Enumerable.Range(0, 3).Select(_ => SiteInstance.Start(connectionString, migrations, UpgradeMigrations.Rename, UpgradeMigrations.NewProbeSql)));
            load.SetTargets(old.Concat(fresh).Select(i => i.Url));
            foreach (var instance in fresh)
            {
                await instance.WaitForStateAsync("serving", TimeSpan.FromSeconds(90));
            }

            foreach (var instance in old)
            {
                Assert.Equal(0, await instance.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            }

            // The new instances counted and timed what they held (/metrics).
            var heldByServers = 0L;
            using var http = new HttpClient();
            foreach (var instance in fresh)
            {
                var metrics = await http.GetStringAsync($"{instance.Url}/metrics");
                heldByServers += long.Parse(HeldCounter().Match(metrics).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.Contains("mychips_hold_duration_seconds_count ", metrics);
            }

            var afterUpgrade = load.Succeeded;
            await Wait.UntilAsync(() => load.Succeeded >= afterUpgrade + 200, TimeSpan.FromSeconds(30), "the load runs on the new instances");
            await stop.CancelAsync();
            await running;

            var outcomes = load.Outcomes.ToList();
            var held = outcomes.Where(o => o.HeldMs > 0).Select(o => o.HeldMs).Order().ToList();
            output.WriteLine($"sent {load.Sent}, answered {outcomes.Count}, succeeded {outcomes.Count(o => o.Succeeded)}, "
                + $"retried {outcomes.Count(o => o.Attempts > 1)}, held {held.Count}, max hold {held.LastOrDefault()} ms");

            // Every request answered, none failed; some were held by the new instances, then served.
            Assert.Equal(load.Sent, outcomes.Count);
            Assert.Empty(outcomes.Where(o => !o.Succeeded).Select(o => $"{o.Key}: {o.Final}"));
            Assert.NotEmpty(held);
            Assert.True(heldByServers >= held.Count, $"servers counted {heldByServers} held requests, clients saw {held.Count}");

            // Exactly one instance migrated, and it was one of the new ones.
            Assert.Equal(UpgradeMigrations.Rename, await database.VersionAsync());
            Assert.Equal(UpgradeMigrations.Rename, await database.ScalarAsync<int>("SELECT min_code_version FROM mychips_meta.schema_state"));
            var appliedBy = await database.ScalarAsync<string>("SELECT applied_by FROM mychips_meta.migrations WHERE number = 102");
            var leaders = fresh.Where(i => i.Process.Output.Contains("Applied migration 0102_upgrade_amount_mc.sql", StringComparison.Ordinal)).ToList();
            var leader = Assert.Single(leaders);
            Assert.Contains($"pid {leader.Process.Pid})", appliedBy);
            Assert.Matches(DrainedLine(), leader.Process.Output);

            // No row from old code after the contract migration committed; data intact.
            Assert.Equal(0, await database.ScalarAsync<long>(
                """
                SELECT count(*) FROM public.upgrade_probe p, public.upgrade_marks m
                 WHERE m.what = '0102' AND p.code_schema_version < 102 AND p.written_at >= m.at
                """));
            Assert.Equal(outcomes.Count, await database.ScalarAsync<long>("SELECT count(*) FROM public.upgrade_probe"));
            Assert.Equal(outcomes.Sum(o => o.Amount), await database.ScalarAsync<long>("SELECT sum(amount_mc) FROM public.upgrade_probe"));
            Assert.True(await database.ScalarAsync<long>("SELECT count(*) FROM public.upgrade_probe WHERE code_schema_version = 101") > 0);
            Assert.True(await database.ScalarAsync<long>("SELECT count(*) FROM public.upgrade_probe WHERE code_schema_version = 102") > 0);
            foreach (var instance in old)
            {
                Assert.Equal("stopped", await database.InstanceStateAsync(instance.Process.Pid));
            }
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

    [GeneratedRegex(@"(?m)^mychips_held_requests_total (\d+)$")]
    private static partial Regex HeldCounter();

    [GeneratedRegex(@"Before contract migration 0102_upgrade_amount_mc\.sql: 3 old instance\(s\) drained")]
    private static partial Regex DrainedLine();
}
