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

internal sealed record RedeemRequest(string Token, ChadBody Chad);

internal sealed record SignatureRequest(string Signature);
