namespace MyChips.Data.Domain;

/// <summary>Memos are free text, bounded so that a message stays well under any transport limit.</summary>
public static class MemoRule
{
    public const int MaxLength = 1000;

    public static void Ensure(string? memo)
    {
        if (memo is { Length: > MaxLength })
            throw DomainErrors.InvalidField("memo", $"must be at most {MaxLength} characters.");
    }
}
