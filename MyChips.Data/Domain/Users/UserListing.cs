namespace MyChips.Data.Domain;

/// <summary>A user as the operator sees them (<c>mychips user list</c>): no keys, no certificate.</summary>
public sealed record UserListing(long UserId, string Cuid, string Name, DateTimeOffset? DisabledAt, bool KeyRegistered, DateTimeOffset CreatedAt)
{
    public bool Disabled => DisabledAt is not null;
}
