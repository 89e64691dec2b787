namespace MyChips.Data.Schema;

/// <summary>A row of <c>mychips_meta.migrations</c>.</summary>
public sealed record AppliedMigration(
    int Number,
    string Name,
    string Sha256,
    string Mode,
    DateTime AppliedAt,
    int DurationMs,
    string AppliedBy);
