namespace MyChips.Data.Domain;

/// <summary>
/// A refused request: nothing was changed. <see cref="Code"/> is stable (clients and tests match on it);
/// <see cref="Status"/> is the HTTP status the API answers with.
/// </summary>
public sealed class DomainException(string code, string message, int status = 400) : Exception(message)
{
    public string Code { get; } = code;

    public int Status { get; } = status;

    /// <summary>What our own log says beyond <see cref="Exception.Message"/> (never sent to the other side).</summary>
    public string? Detail { get; init; }
}
