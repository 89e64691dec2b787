namespace MyChips.Data.Schema;

/// <summary>Stable codes of schema refusals, for logs, exit codes and <c>/readyz</c>.</summary>
public static class SchemaErrorCode
{
    public const string InvalidMigration = "migration_invalid";
    public const string MigrationEdited = "migration_edited";
    public const string UnknownMigration = "migration_unknown";
    public const string CodeTooOld = "code_too_old";
}
