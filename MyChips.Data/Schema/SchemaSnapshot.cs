namespace MyChips.Data.Schema;

/// <summary>The version row and applied migrations, read together, judged against one code's migration set.</summary>
public sealed record SchemaSnapshot(SchemaState State, IReadOnlyList<AppliedMigration> Applied, MigrationSet Code)
{
    public IEnumerable<Migration> Pending =>
        Code.Where(m => Applied.All(a => a.Number != m.Number));

    public SchemaCompatibility Compatibility =>
        Code.CodeVersion < State.MinCodeVersion ? SchemaCompatibility.TooOld
        : Code.CodeVersion > State.Version || Pending.Any() ? SchemaCompatibility.Upgrade
        : SchemaCompatibility.Serve;

    /// <summary>Throws when the database and this code cannot work together at all.</summary>
    /// <exception cref="SchemaException">An applied migration was edited, is unknown, or the code is too old.</exception>
    public void EnsureConsistent()
    {
        foreach (var applied in Applied)
        {
            var known = Code.Find(applied.Number);
            if (known is null)
            {
                if (applied.Number <= Code.CodeVersion)
                {
                    throw new SchemaException(SchemaErrorCode.UnknownMigration,
                        $"The database has migration {applied.Number:D4}_{applied.Name} applied, which this code does not know.");
                }

                continue; // A newer migration; judged by min_code_version below.
            }

            if (known.Sha256 != applied.Sha256)
            {
                throw new SchemaException(SchemaErrorCode.MigrationEdited,
                    $"Migration {known.FileName} was edited after it was applied (database sha256 {applied.Sha256}, "
                    + $"file sha256 {known.Sha256}). Applied migrations must never change: restore the file and add a new migration.");
            }
        }

        if (Compatibility == SchemaCompatibility.TooOld)
        {
            throw new SchemaException(SchemaErrorCode.CodeTooOld,
                $"The database is at schema version {State.Version} and needs code for schema version "
                + $"{State.MinCodeVersion} or newer; this code is built for schema version {Code.CodeVersion}. "
                + "Run a newer mychips.");
        }
    }
}
