using System.Text.Json.Nodes;
using MyChips.Data.Domain;

namespace MyChips.Server.Api;

// The request bodies of the user API that are not domain records themselves (docs/api.md).

internal sealed record TicketLoginRequest(string User, string Token, JsonObject PublicKey);

internal sealed record ChallengeRequest(string User);

internal sealed record SignedLoginRequest(string User, string Nonce, string Signature);

internal sealed record InviteRequest(int? ExpiresMinutes = null);

internal sealed record ChadBody(string Cuid, string Agent, string? Host = null, int? Port = null)
{
    public Chad ToChad() => new(Cuid, Agent, Host, Port);
}

/// <summary>
/// An invitation as the inviter's app passes it on: ours (<c>{token, chad}</c>) or the reference's, which also carries
/// <c>expires</c> (PostgreSQL's JSON timestamp, e.g. <c>2025-03-01T09:15:02.41+00:00</c>; ours is the same ISO 8601 form).
/// </summary>
internal sealed record RedeemRequest(string Token, ChadBody Chad, string? Expires = null)
{
    private static readonly System.Text.RegularExpressions.Regex ExpiresForm = new(
        @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}(:\d{2})?)$",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));

    /// <summary>The parsed expiry, or null when absent. An instant needs its offset: a time without one is ambiguous.</summary>
    public DateTimeOffset? ParseExpires()
    {
        if (Expires is null)
            return null;
        if (Expires.Length <= 40 && ExpiresForm.IsMatch(Expires)
            && DateTimeOffset.TryParse(Expires, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var expires))
            return expires;
        throw DomainErrors.InvalidField("expires", "must be an ISO 8601 date and time with an offset, e.g. 2025-03-01T09:15:02.41+00:00 or 2025-03-01T09:15:02Z.");
    }
}

internal sealed record SignatureRequest(string Signature);
