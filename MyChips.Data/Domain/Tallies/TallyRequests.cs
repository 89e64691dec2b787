using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>A new draft tally: the side the user holds and the terms each side grants.</summary>
public sealed record TallyDraft(string Type, string? Memo = null, JsonObject? HoldTerms = null, JsonObject? PartTerms = null, Guid? Uuid = null);

/// <summary>Changes to a draft (null leaves a field as it is).</summary>
public sealed record TallyEdit(string? Memo = null, JsonObject? HoldTerms = null, JsonObject? PartTerms = null);

/// <summary>A tally invitation as issued to the inviter (the token is shown once).</summary>
public sealed record Invitation(string Token, DateTimeOffset Expires, Chad Chad, Guid Tally, string Url);
