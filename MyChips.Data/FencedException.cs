namespace MyChips.Data;

/// <summary>
/// A transaction was refused because the database now requires newer code than this process runs
/// (DESIGN.md 4.4): nothing it wrote was committed, and the process must fence itself.
/// </summary>
public sealed class FencedException(int codeSchemaVersion, int minCodeVersion)
    : Exception($"This code (schema version {codeSchemaVersion}) is older than the database allows (min_code_version {minCodeVersion}); the transaction was rolled back.")
{
    public const string Code = "instance_fenced";

    public int CodeSchemaVersion { get; } = codeSchemaVersion;

    public int MinCodeVersion { get; } = minCodeVersion;
}
