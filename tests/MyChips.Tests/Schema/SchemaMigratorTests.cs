using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using MyChips.Data.Schema;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Schema;

[Collection(SchemaCollection.Name)]
public sealed class SchemaMigratorTests(PostgresServer server) : IDisposable
{
    private readonly MigrationFixtures _fixtures = new();

    private const string ExpandMigration = """
        -- mode: expand
        CREATE TABLE mychips.test_notes (id int PRIMARY KEY, note text);
        """;

    private const string ContractMigration = """
        -- mode: contract
        ALTER TABLE mychips.users RENAME COLUMN name TO display_name;
        """;

    [Fact]
    public async Task Applies_every_embedded_migration_once_and_a_second_run_changes_nothing()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        var code = MigrationSet.Embedded();
        var first = await Migrator(dataSource, code).MigrateAsync("test", Guid.NewGuid(), null, default);
        Assert.Equal(code.Select(m => m.Number), first.Applied.Select(m => m.Number));
        Assert.Equal(code.CodeVersion, first.Final.State.Version);
        Assert.Equal("stable", first.Final.State.Phase);

        var before = await ReadMigrationRowsAsync(dataSource);
        var second = await Migrator(dataSource, code).MigrateAsync("test", Guid.NewGuid(), null, default);
        Assert.Empty(second.Applied);
        Assert.Equal(before, await ReadMigrationRowsAsync(dataSource));
        Assert.Equal(code.Select(m => m.Sha256), before.Select(r => r.Sha256));
    }

    [Fact]
    public async Task An_edited_applied_migration_is_refused_with_its_name_and_checksums()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await Migrator(dataSource, MigrationSet.FromDirectory(_fixtures.WithRealSchema(("0100_notes.sql", ExpandMigration))))
            .MigrateAsync("test", Guid.NewGuid(), null, default);
        var edited = MigrationSet.FromDirectory(_fixtures.WithRealSchema(("0100_notes.sql", ExpandMigration + "\n-- edited\n")));

        var refusal = await Assert.ThrowsAsync<SchemaException>(() =>
            Migrator(dataSource, edited).MigrateAsync("test", Guid.NewGuid(), null, default));

        Assert.Equal(SchemaErrorCode.MigrationEdited, refusal.Code);
        Assert.Contains("0100_notes.sql was edited after it was applied", refusal.Message);
        Assert.Contains(edited.Find(100)!.Sha256, refusal.Message);
    }

    [Fact]
    public async Task A_database_newer_than_the_code_after_a_contract_migration_is_refused()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        var newer = MigrationSet.FromDirectory(_fixtures.WithRealSchema(("0100_rename.sql", ContractMigration)));
        await Migrator(dataSource, newer).MigrateAsync("test", Guid.NewGuid(), null, default);
        var older = newer.UpTo(MigrationSet.Embedded().CodeVersion);

        var refusal = await Assert.ThrowsAsync<SchemaException>(() =>
            Migrator(dataSource, older).MigrateAsync("test", Guid.NewGuid(), null, default));

        Assert.Equal(SchemaErrorCode.CodeTooOld, refusal.Code);
        Assert.Contains("needs code for schema version 100 or newer", refusal.Message);
        Assert.Equal(SchemaCompatibility.TooOld, (await Migrator(dataSource, older).ReadAsync(default)).Compatibility);
    }

    [Fact]
    public async Task Code_older_than_an_expand_only_database_may_still_serve()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        var newer = MigrationSet.FromDirectory(_fixtures.WithRealSchema(("0100_notes.sql", ExpandMigration)));
        await Migrator(dataSource, newer).MigrateAsync("test", Guid.NewGuid(), null, default);
        var older = newer.UpTo(MigrationSet.Embedded().CodeVersion);

        var outcome = await Migrator(dataSource, older).MigrateAsync("test", Guid.NewGuid(), null, default);

        Assert.Empty(outcome.Applied);
        Assert.Equal(SchemaCompatibility.Serve, outcome.Final.Compatibility);
        Assert.Equal(100, outcome.Final.State.Version);
    }

    [Fact]
    public async Task Concurrent_migrators_apply_each_migration_exactly_once()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        var code = MigrationSet.FromDirectory(_fixtures.WithRealSchema(("0100_notes.sql", ExpandMigration)));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Task.Run(() => Migrator(dataSource, code).MigrateAsync("test", Guid.NewGuid(), null, default))));

        var appliedNumbers = outcomes.SelectMany(o => o.Applied).Select(m => m.Number).OrderBy(n => n).ToList();
        Assert.Equal(code.Select(m => m.Number), appliedNumbers);
        Assert.Single(outcomes, o => o.Applied.Count > 0);
        Assert.All(outcomes, o => Assert.Equal(100, o.Final.State.Version));
        Assert.Equal(code.Count, (await ReadMigrationRowsAsync(dataSource)).Count);
    }

    [Fact]
    public async Task A_migration_that_fails_leaves_the_database_unchanged_and_is_reported()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await Migrator(dataSource, MigrationSet.Embedded()).MigrateAsync("test", Guid.NewGuid(), null, default);
        var broken = MigrationSet.FromDirectory(_fixtures.WithRealSchema(("0100_broken.sql", """
            -- mode: expand
            CREATE TABLE mychips.half_done (id int);
            SELECT no_such_function();
            """)));

        await Assert.ThrowsAsync<PostgresException>(() =>
            Migrator(dataSource, broken).MigrateAsync("test", Guid.NewGuid(), null, default));

        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.False(await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('mychips.half_done') IS NOT NULL"));
        Assert.Equal(MigrationSet.Embedded().CodeVersion, await connection.ExecuteScalarAsync<int>("SELECT version FROM mychips_meta.schema_state"));
    }

    [Theory]
    [InlineData("0003_bad name.sql", "-- mode: expand\nSELECT 1;", "not a migration file name")]
    [InlineData("0003_no_header.sql", "SELECT 1;", "must start with a line '-- mode: expand'")]
    [InlineData("0003_bad_mode.sql", "-- mode: sideways\nSELECT 1;", "must start with a line '-- mode: expand'")]
    public void Malformed_migration_files_are_refused(string fileName, string sql, string message)
    {
        var refusal = Assert.Throws<SchemaException>(() => Migration.Parse(fileName, sql));
        Assert.Equal(SchemaErrorCode.InvalidMigration, refusal.Code);
        Assert.Contains(message, refusal.Message);
    }

    public void Dispose() => _fixtures.Dispose();

    private static SchemaMigrator Migrator(NpgsqlDataSource dataSource, MigrationSet code) =>
        new(dataSource, code, new SchemaOptions { LeaderPollInterval = TimeSpan.FromMilliseconds(20) }, NullLogger<SchemaMigrator>.Instance);

    private static async Task<List<(int Number, string Sha256, DateTime AppliedAt)>> ReadMigrationRowsAsync(NpgsqlDataSource dataSource)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<(int, string, DateTime)>("SELECT number, sha256, applied_at FROM mychips_meta.migrations ORDER BY number")).AsList();
    }
}
