namespace MyChips.Data.Domain;

/// <summary>The outcome of walking one tally half's hash chain.</summary>
public sealed record ChainVerification(bool Valid, int Length, byte[]? Head, string? Problem)
{
    public static ChainVerification Failed(int index, string problem) => new(false, index, null, $"block {index}: {problem}");
}
