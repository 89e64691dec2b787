namespace MyChips.Data.Domain;

/// <summary>The identity behind a valid session token; every user-API call acts for it and only for it.</summary>
public sealed record AuthenticatedUser(long UserId, string Cuid, DateTimeOffset SessionExpires);
