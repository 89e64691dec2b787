namespace MyChips.Data.Domain;

/// <summary>A new bearer token, shown to the client once.</summary>
public sealed record SessionToken(string Token, DateTimeOffset Expires, string User);
