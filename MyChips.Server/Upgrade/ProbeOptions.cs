namespace MyChips.Server.Upgrade;

/// <summary>
/// The write probe (configuration section <c>Diagnostics:Probe</c>, off by default): <c>POST /diagnostics/probe</c>
/// runs one operator-supplied statement as an application transaction, through the hold gate and the fence, so an
/// operator (or a test, or the bench) can drive real writes through an upgrade and count what landed.
/// </summary>
public sealed class ProbeOptions
{
    public const string Section = "Diagnostics:Probe";

    public bool Enabled { get; set; }

    /// <summary>
    /// The statement; it may use <c>@key</c> (text, the request's idempotency key), <c>@amount</c> (bigint),
    /// <c>@instance</c> (uuid) and <c>@codeSchemaVersion</c> (int). Make it idempotent on <c>@key</c>
    /// (e.g. <c>ON CONFLICT (key) DO NOTHING</c>): clients retry.
    /// </summary>
    public string? Sql { get; set; }
}
