using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using MyChips.Data;
using MyChips.Data.Schema;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Schema;

/// <summary>What the schema manager records: the phase, the migrations' times, and the repair of an abandoned upgrade.</summary>
[Collection(SchemaCollection.Name)]
public sealed class MigrationBookkeepingTests(PostgresServer server) : IDisposable
{
    // A deferred trigger runs at COMMIT, after every statement of the transaction: it sees the version row exactly as
    // the migration's transaction commits it.
    private const string PhaseAtCommit = """
        -- mode: expand
        CREATE TABLE public.phase_at_commit (number int PRIMARY KEY, phase text NOT NULL);
        CREATE FUNCTION public.record_phase_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO public.phase_at_commit SELECT NEW.number, phase FROM mychips_meta.schema_state;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER record_phase_at_commit AFTER INSERT ON mychips_meta.migrations
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.record_phase_at_commit();
        """;

    private const string SlowMigration = """
        -- mode: expand
        CREATE TABLE public.slow_started AS SELECT now() AS at;
        SELECT pg_sleep(0.5);
        """;

    private readonly MigrationFixtures _fixtures = new();

    [Fact]
    public async Task The_last_migration_commits_the_phase_stable_in_its_own_transaction()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync("phase"));
        var code = MigrationSet.FromDirectory(_fixtures.WithRealSchema(
            ("0100_phase_at_commit.sql", PhaseAtCommit),
            ("0101_first.sql", "-- mode: expand\nCREATE TABLE public.first (id int);"),
            ("0102_last.sql", "-- mode: contract\nCREATE TABLE public.last (id int);")));

        await Migrator(dataSource, code).MigrateAsync("test", Guid.NewGuid(), null, default);

        await using var connection = await dataSource.OpenConnectionAsync();
        var phases = (await connection.QueryAsync<(int Number, string Phase)>("SELECT number, phase FROM public.phase_at_commit ORDER BY number")).AsList();
        Assert.Equal([(100, "migrating"), (101, "migrating"), (102, "stable")], phases);
    }

    [Fact]
    public async Task Applied_at_is_when_the_migration_finished_and_duration_ms_how_long_it_ran()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync("applied"));
        var code = MigrationSet.FromDirectory(_fixtures.WithRealSchema(("0100_slow.sql", SlowMigration)));

        await Migrator(dataSource, code).MigrateAsync("test", Guid.NewGuid(), null, default);

        await using var connection = await dataSource.OpenConnectionAsync();
        var (afterStart, durationMs) = await connection.QuerySingleAsync<(double AfterStart, int DurationMs)>(
            """
            SELECT extract(epoch FROM m.applied_at - s.at)::float8, m.duration_ms
              FROM mychips_meta.migrations m, public.slow_started s WHERE m.number = 100
            """);
        Assert.True(afterStart >= 0.5, $"applied_at is {afterStart:F3} s after the migration's transaction began");
        Assert.True(durationMs >= 500, $"duration_ms is {durationMs}");
        // Both measure the same span: applied_at - duration_ms is the transaction's start (rounding and the first
        // statement's latency apart).
        Assert.True(Math.Abs(afterStart * 1000 - durationMs) < 50, $"applied_at - start = {afterStart * 1000:F0} ms, duration_ms = {durationMs}");
    }

    [Fact]
    public async Task A_migrating_phase_is_repaired_only_once_its_leader_has_no_fresh_heartbeat_and_no_lock()
    {
        var connectionString = await server.CreateDatabaseAsync("repair");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var migrator = Migrator(dataSource, MigrationSet.Embedded());
        await migrator.MigrateAsync("test", Guid.NewGuid(), null, default);
        var leader = Guid.NewGuid();
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(
            """
            INSERT INTO mychips_meta.instances (id, host, pid, code_version, code_schema_version, state)
            VALUES (@leader, 'elsewhere', 4242, 'test', 999, 'holding');
            UPDATE mychips_meta.schema_state SET phase = 'migrating', leader = @leader, epoch = epoch + 1;
            """, new { leader });

        // The leader heart-beats: it may be between two attempts of a migration that failed. Left alone.
        Assert.False(await migrator.RepairAbandonedPhaseAsync(TimeSpan.FromSeconds(10), default));
        Assert.Equal("migrating", await connection.ExecuteScalarAsync<string>("SELECT phase FROM mychips_meta.schema_state"));

        await connection.ExecuteAsync("UPDATE mychips_meta.instances SET heartbeat_at = now() - interval '1 hour' WHERE id = @leader", new { leader });
        // Silent, but someone holds the migration lock: a leader is at work. Left alone.
        await using (var holder = await dataSource.OpenConnectionAsync())
        {
            await holder.ExecuteAsync("SELECT pg_advisory_lock(@key)", new { key = AdvisoryLockKeys.Migration });
            Assert.False(await migrator.RepairAbandonedPhaseAsync(TimeSpan.FromSeconds(10), default));
            Assert.Equal("migrating", await connection.ExecuteScalarAsync<string>("SELECT phase FROM mychips_meta.schema_state"));
            // Explicitly: a pooled connection would keep a session lock until it is reused.
            await holder.ExecuteAsync("SELECT pg_advisory_unlock(@key)", new { key = AdvisoryLockKeys.Migration });
        }

        Assert.True(await migrator.RepairAbandonedPhaseAsync(TimeSpan.FromSeconds(10), default));
        var state = (await migrator.ReadAsync(default)).State;
        Assert.Equal("stable", state.Phase);
        Assert.Equal(MigrationSet.Embedded().CodeVersion, state.Version);
        Assert.False(await migrator.RepairAbandonedPhaseAsync(TimeSpan.FromSeconds(10), default));
    }

    private static SchemaMigrator Migrator(NpgsqlDataSource dataSource, MigrationSet code) =>
        new(dataSource, code, new SchemaOptions(), NullLogger<SchemaMigrator>.Instance);

    public void Dispose() => _fixtures.Dispose();
}
