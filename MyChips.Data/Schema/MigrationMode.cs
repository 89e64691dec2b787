namespace MyChips.Data.Schema;

/// <summary>Whether code built for the previous schema version still works after a migration.</summary>
public enum MigrationMode
{
    /// <summary>Additive: old code keeps working (new tables, nullable columns, functions).</summary>
    Expand,

    /// <summary>Breaking: old code must be drained and fenced before it runs (renames, drops, type changes).</summary>
    Contract,
}
