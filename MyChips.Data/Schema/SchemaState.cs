namespace MyChips.Data.Schema;

/// <summary>The database's version row, <c>mychips_meta.schema_state</c> (DESIGN.md 4.1).</summary>
public sealed record SchemaState(
    int Version,
    int MinCodeVersion,
    string Phase,
    Guid? Leader,
    long Epoch,
    DateTime UpdatedAt)
{
    /// <summary>The state of a database on which no migration has run yet.</summary>
    public static SchemaState Empty { get; } = new(0, 0, "stable", null, 0, DateTime.MinValue);
}
