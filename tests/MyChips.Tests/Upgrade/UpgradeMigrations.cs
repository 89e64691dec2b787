using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Upgrade;

/// <summary>
/// Two (and more) code versions for upgrade tests: the real schema plus fixture migrations, cut at a version with
/// <c>Schema:CodeSchemaVersion</c>. The workload is the product's write probe (<c>Diagnostics:Probe</c>) with the
/// statement each code version would use.
/// </summary>
public static class UpgradeMigrations
{
    /// <summary>Creates the probe table: the first version the tests run.</summary>
    public const int Probe = 100;

    /// <summary>An expand migration: a nullable column the newer code fills.</summary>
    public const int Note = 101;

    /// <summary>A contract migration: <c>amount</c> becomes <c>amount_mc</c>, data copied, the old column dropped.</summary>
    public const int Rename = 102;

    /// <summary>In the slow set: an expand migration that sleeps 4 s before it commits.</summary>
    public const int Slow = 101;

    public static readonly (string, string) ProbeFile = ("0100_upgrade_probe.sql", """
        -- mode: expand
        CREATE TABLE public.upgrade_probe (
            key                 text        PRIMARY KEY,
            amount              bigint      NOT NULL,
            code_schema_version int         NOT NULL,
            instance            uuid        NOT NULL,
            written_at          timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE TABLE public.upgrade_marks (what text PRIMARY KEY, at timestamptz NOT NULL);
        """);

    public static readonly (string, string) NoteFile = ("0101_upgrade_note.sql", """
        -- mode: expand
        ALTER TABLE public.upgrade_probe ADD COLUMN note text;
        """);

    public static readonly (string, string) RenameFile = ("0102_upgrade_amount_mc.sql", """
        -- mode: contract
        ALTER TABLE public.upgrade_probe ADD COLUMN amount_mc bigint;
        UPDATE public.upgrade_probe SET amount_mc = amount;
        ALTER TABLE public.upgrade_probe ALTER COLUMN amount_mc SET NOT NULL;
        ALTER TABLE public.upgrade_probe DROP COLUMN amount;
        -- The last thing before commit: no row of older code may carry a later timestamp.
        INSERT INTO public.upgrade_marks VALUES ('0102', clock_timestamp());
        """);

    /// <summary>
    /// A migration that runs until the test opens its gate (<see cref="OpenGateAsync"/>): the test, not the machine's
    /// speed, decides how long the upgrade lasts (a fixed sleep raced process start-up on a loaded machine).
    /// </summary>
    public static readonly (string, string) SlowFile = ("0101_upgrade_slow.sql", """
        -- mode: expand
        CREATE TABLE public.upgrade_slow (id int PRIMARY KEY);
        INSERT INTO public.upgrade_slow SELECT generate_series(1, 1000);
        DO $$ BEGIN WHILE NOT EXISTS (SELECT FROM public.upgrade_gate) LOOP PERFORM pg_sleep(0.05); END LOOP; END $$;
        """);

    /// <summary>Creates the closed gate <see cref="SlowFile"/> waits at (before the migration runs).</summary>
    public static Task CloseGateAsync(UpgradeDatabase database) => database.ExecuteAsync("CREATE TABLE IF NOT EXISTS public.upgrade_gate ()");

    /// <summary>Lets <see cref="SlowFile"/> finish.</summary>
    public static Task OpenGateAsync(UpgradeDatabase database) => database.ExecuteAsync("INSERT INTO public.upgrade_gate DEFAULT VALUES");

    /// <summary>The statement of code for versions 100 and 101 (before the rename).</summary>
    public const string OldProbeSql =
        "INSERT INTO public.upgrade_probe (key, amount, code_schema_version, instance) "
        + "VALUES (@key, @amount, @codeSchemaVersion, @instance) ON CONFLICT (key) DO NOTHING";

    /// <summary>The statement of code for version 101 in the rolling test: it fills the new column.</summary>
    public const string NoteProbeSql =
        "INSERT INTO public.upgrade_probe (key, amount, code_schema_version, instance, note) "
        + "VALUES (@key, @amount, @codeSchemaVersion, @instance, 'written by 101') ON CONFLICT (key) DO NOTHING";

    /// <summary>The statement of code for version 102 (after the rename).</summary>
    public const string NewProbeSql =
        "INSERT INTO public.upgrade_probe (key, amount_mc, code_schema_version, instance) "
        + "VALUES (@key, @amount, @codeSchemaVersion, @instance) ON CONFLICT (key) DO NOTHING";

    public static string Standard(MigrationFixtures fixtures) => fixtures.WithRealSchema(ProbeFile, NoteFile, RenameFile);

    public static string WithSlow(MigrationFixtures fixtures) => fixtures.WithRealSchema(ProbeFile, SlowFile);
}
