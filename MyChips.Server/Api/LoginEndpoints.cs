using MyChips.Data.Domain;

namespace MyChips.Server.Api;

/// <summary>Ticket login, challenge, signed login, logout, and who am I.</summary>
internal static class LoginEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/login/ticket", async (HttpContext context, Tickets tickets) =>
        {
            var body = await ApiJson.ReadAsync<TicketLoginRequest>(context.Request, context.RequestAborted);
            return Results.Json(await tickets.RedeemAsync(body.User, body.Token, body.PublicKey, context.RequestAborted), ApiJson.Options);
        }).RequireRateLimiting(ApiRateLimits.Login);
        api.MapPost("/login/challenge", async (HttpContext context, LoginChallenges challenges) =>
        {
            var body = await ApiJson.ReadAsync<ChallengeRequest>(context.Request, context.RequestAborted);
            var challenge = await challenges.IssueAsync(body.User, context.RequestAborted);
            return Results.Json(new { challenge.Nonce, challenge.Expires }, ApiJson.Options);
        }).RequireRateLimiting(ApiRateLimits.Login);
        api.MapPost("/login/signed", async (HttpContext context, LoginChallenges challenges) =>
        {
            var body = await ApiJson.ReadAsync<SignedLoginRequest>(context.Request, context.RequestAborted);
            return Results.Json(await challenges.CompleteAsync(body.User, body.Nonce, body.Signature, context.RequestAborted), ApiJson.Options);
        });
        api.MapPost("/logout", async (HttpContext context, Sessions sessions, MyChips.Data.SiteTransactions transactions) =>
        {
            await ApiAuth.UserAsync(context);
            await sessions.EndAsync(transactions, ApiAuth.Token(context)!, context.RequestAborted);
            return Results.NoContent();
        });
        api.MapGet("/me", async (HttpContext context, Users users, SiteAgents agents) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var account = await users.GetAsync(user.UserId, context.RequestAborted);
            var agent = await agents.GetAsync(context.RequestAborted);
            return Results.Json(new { user = account.Cuid, account.Name, chad = account.Chad(agent), account.Cert, sessionExpires = user.SessionExpires }, ApiJson.Options);
        });
    }
}
