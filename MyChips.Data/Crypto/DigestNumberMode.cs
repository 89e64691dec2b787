namespace MyChips.Data.Crypto;

/// <summary>Which number text serialiser D starts from (PROTOCOL §3.5).</summary>
public enum DigestNumberMode
{
    /// <summary>
    /// Python <c>json.loads</c> on the literal as written: a literal with <c>.</c> or an exponent is a float
    /// (<c>1e2</c> → <c>100.0</c>), otherwise an int. This is how the canonical-JSON test vectors (tests/MyChips.Tests/TestData) are made.
    /// </summary>
    PythonLiteral,

    /// <summary>
    /// The literal as PostgreSQL jsonb re-prints it before <c>mychips.j2h</c> parses it (<c>1e2</c> → int <c>100</c>,
    /// <c>1.0e2</c> → <c>100</c>, <c>-0.0</c> → <c>0.0</c>). Use this for every digest the reference computes in the DB:
    /// tally digest, chit digest, chain hash, contract RID.
    /// </summary>
    PostgresJsonb,
}
