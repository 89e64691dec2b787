namespace MyChips.Data.Schema;

/// <summary>What a process must do, given its code schema version C and the database's row (DESIGN.md 4.3).</summary>
public enum SchemaCompatibility
{
    /// <summary>C = D, or C &lt; D with only expand migrations between: serve.</summary>
    Serve,

    /// <summary>C &gt; D: an upgrade is due; hold and try to lead it.</summary>
    Upgrade,

    /// <summary>C &lt; min_code_version: this code is too old and must not write.</summary>
    TooOld,
}
