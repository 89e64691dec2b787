namespace MyChips.Data.Schema;

/// <summary>What one call of <see cref="SchemaMigrator.MigrateAsync"/> did.</summary>
/// <param name="Applied">The migrations this process applied (empty when another process did, or none were due).</param>
/// <param name="Epoch">The leadership epoch this process held, or null when it did not lead.</param>
/// <param name="Final">The database as this process left it.</param>
public sealed record MigrationOutcome(IReadOnlyList<Migration> Applied, long? Epoch, SchemaSnapshot Final);
