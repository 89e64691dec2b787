namespace MyChips.Data.Schema;

/// <summary>The values of <c>mychips_meta.schema_state.phase</c>.</summary>
public static class SchemaPhases
{
    public const string Stable = "stable";
    public const string Migrating = "migrating";
}
