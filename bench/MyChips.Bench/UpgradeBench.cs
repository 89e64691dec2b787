using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using MyChips.Data.Embedded;
using MyChips.Data.Schema;

namespace MyChips.Bench;

/// <summary>
/// <c>mychips-bench upgrade</c>: a contract upgrade under load with real processes on a durable embedded cluster.
/// Old instances (schema 101) serve a write load; new ones (schema 102, a column rename with data copy) start
/// together; one leads, drains the old ones and migrates while the others hold. Prints requests sent, failed,
/// held, max and p99 hold time, and the total upgrade time.
/// </summary>
internal static class UpgradeBench
{
    private const string OldSql = "INSERT INTO public.upgrade_probe (key, amount, code_schema_version, instance) "
        + "VALUES (@key, @amount, @codeSchemaVersion, @instance) ON CONFLICT (key) DO NOTHING";

    private const string NewSql = "INSERT INTO public.upgrade_probe (key, amount_mc, code_schema_version, instance) "
        + "VALUES (@key, @amount, @codeSchemaVersion, @instance) ON CONFLICT (key) DO NOTHING";

    private static readonly (string File, string Sql)[] Fixtures =
    [
        ("0100_upgrade_probe.sql", """
            -- mode: expand
            CREATE TABLE public.upgrade_probe (key text PRIMARY KEY, amount bigint NOT NULL, code_schema_version int NOT NULL,
                instance uuid NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp());
            """),
        ("0101_upgrade_seed.sql", """
            -- mode: expand
            INSERT INTO public.upgrade_probe (key, amount, code_schema_version, instance)
            SELECT 'seed' || i, i, 101, '00000000-0000-0000-0000-000000000000' FROM generate_series(1, 100000) i;
            """),
        ("0102_upgrade_amount_mc.sql", """
            -- mode: contract
            ALTER TABLE public.upgrade_probe ADD COLUMN amount_mc bigint;
            UPDATE public.upgrade_probe SET amount_mc = amount;
            ALTER TABLE public.upgrade_probe ALTER COLUMN amount_mc SET NOT NULL;
            ALTER TABLE public.upgrade_probe DROP COLUMN amount;
            """),
    ];

    public static Command Create()
    {
        var instances = new Option<int>("--instances") { Description = "Old and new instances each (default 3).", DefaultValueFactory = _ => 3 };
        var workers = new Option<int>("--workers") { Description = "Concurrent clients (default 8).", DefaultValueFactory = _ => 8 };
        var warmup = new Option<int>("--warmup") { Description = "Seconds of load before the deploy (default 5).", DefaultValueFactory = _ => 5 };
        var cooldown = new Option<int>("--cooldown") { Description = "Seconds of load after the upgrade (default 5).", DefaultValueFactory = _ => 5 };
        var command = new Command("upgrade", "Contract upgrade (column rename with copy of 100,000 rows) under write load: no failed request.")
        {
            instances, workers, warmup, cooldown,
        };
        command.SetAction((result, cancellationToken) => RunAsync(result.GetValue(instances), result.GetValue(workers),
            TimeSpan.FromSeconds(result.GetValue(warmup)), TimeSpan.FromSeconds(result.GetValue(cooldown)), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int count, int workers, TimeSpan warmup, TimeSpan cooldown, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("mychips-bench-upgrade-");
        if (!OperatingSystem.IsWindows())
        {
            // Created 0700; as root the embedded server runs as postgres, which must pass through to its data directory.
            File.SetUnixFileMode(directory.FullName, (UnixFileMode)0b111_101_101);
        }

        try
        {
            var migrations = WriteMigrations(Path.Combine(directory.FullName, "migrations"));
            var options = new EmbeddedPostgresOptions { DataDirectory = Path.Combine(directory.FullName, "pg"), Durable = true };
            options.Settings["max_connections"] = "300";
            await using var cluster = await EmbeddedPostgresCluster.StartAsync(options, NullLogger.Instance, cancellationToken);
            await cluster.EnsureDatabaseAsync("bench", cancellationToken);
            var connectionString = cluster.ConnectionString("bench");

            var old = Enumerable.Range(0, count).Select(_ => UpgradeBenchInstance.Start(connectionString, migrations, 101, OldSql)).ToList();
            var fresh = new List<UpgradeBenchInstance>();
            try
            {
                foreach (var instance in old)
                {
                    await instance.WaitForStateAsync("serving", TimeSpan.FromSeconds(120), cancellationToken);
                }

                using var load = new UpgradeBenchLoad(old.Select(i => i.Url), workers);
                using var stop = new CancellationTokenSource();
                var running = load.RunAsync(TimeSpan.FromMinutes(5), stop.Token);
                await Task.Delay(warmup, cancellationToken);

                var upgrade = Stopwatch.StartNew();
                fresh.AddRange(Enumerable.Range(0, count).Select(_ => UpgradeBenchInstance.Start(connectionString, migrations, 102, NewSql)));
                load.SetTargets(old.Concat(fresh).Select(i => i.Url));
                foreach (var instance in fresh)
                {
                    await instance.WaitForStateAsync("serving", TimeSpan.FromSeconds(120), cancellationToken);
                }

                var oldExitCodes = new List<int>();
                foreach (var instance in old)
                {
                    oldExitCodes.Add(await instance.WaitForExitAsync(TimeSpan.FromSeconds(60), cancellationToken));
                }

                upgrade.Stop();
                await Task.Delay(cooldown, cancellationToken);
                await stop.CancelAsync();
                await running;

                Report(load, upgrade.Elapsed, oldExitCodes);
                return load.Outcomes.All(o => o.Succeeded) ? 0 : 1;
            }
            finally
            {
                foreach (var instance in old.Concat(fresh))
                {
                    await instance.DisposeAsync();
                }
            }
        }
        finally
        {
            try
            {
                directory.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A temp directory left behind is harmless.
            }
        }
    }

    private static void Report(UpgradeBenchLoad load, TimeSpan upgradeTime, List<int> oldExitCodes)
    {
        var outcomes = load.Outcomes.ToList();
        var held = outcomes.Where(o => o.HeldMs > 0).Select(o => o.HeldMs).Order().ToList();
        var latencies = outcomes.Select(o => o.Latency.TotalMilliseconds).Order().ToList();
        var invariant = CultureInfo.InvariantCulture;
        Console.WriteLine("scenario upgrade: contract migration (rename with copy of 100,000 rows) under write load");
        Console.WriteLine(string.Create(invariant, $"requests sent        {load.Sent}"));
        Console.WriteLine(string.Create(invariant, $"requests answered    {outcomes.Count}"));
        Console.WriteLine(string.Create(invariant, $"requests failed      {outcomes.Count(o => !o.Succeeded)}"));
        Console.WriteLine(string.Create(invariant, $"requests retried     {outcomes.Count(o => o.Attempts > 1)} (503 or refused, sent to the next instance)"));
        Console.WriteLine(string.Create(invariant, $"requests held        {held.Count}"));
        Console.WriteLine(string.Create(invariant, $"hold time max        {(held.Count == 0 ? 0 : held[^1])} ms"));
        Console.WriteLine(string.Create(invariant, $"hold time p99        {Percentile(held.Select(h => (double)h).ToList(), 0.99):F0} ms"));
        Console.WriteLine(string.Create(invariant, $"latency p50 / p99    {Percentile(latencies, 0.50):F1} / {Percentile(latencies, 0.99):F1} ms"));
        Console.WriteLine(string.Create(invariant, $"upgrade time         {upgradeTime.TotalSeconds:F2} s (new instances started -> all new serving, all old exited)"));
        Console.WriteLine(string.Create(invariant, $"old instances exit   {string.Join(", ", oldExitCodes)}"));
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static string WriteMigrations(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var migration in MigrationSet.Embedded())
        {
            File.WriteAllText(Path.Combine(directory, migration.FileName), migration.Sql);
        }

        foreach (var (file, sql) in Fixtures)
        {
            File.WriteAllText(Path.Combine(directory, file), sql);
        }

        return directory;
    }
}
