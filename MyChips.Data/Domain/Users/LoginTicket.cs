namespace MyChips.Data.Domain;

/// <summary>A single-use login ticket as issued (the secret is shown once; only its hash is stored).</summary>
public sealed record LoginTicket(string User, string Token, DateTimeOffset Expires, string Url);
