using MyChips.Data;
using MyChips.Data.Domain;

namespace MyChips.Server.Api;

/// <summary>Tallies: draft, edit, invite, redeem, offer, accept, refuse, revise, list, show, verify the chain, balance.</summary>
internal static class TallyEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/tallies", async (HttpContext context, Tallies tallies) =>
            Results.Json(await tallies.ListAsync(await ApiAuth.UserAsync(context), context.RequestAborted), ApiJson.Options));
        api.MapPost("/tallies", async (HttpContext context, Tallies tallies) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = await ApiJson.ReadAsync<TallyDraft>(context.Request, context.RequestAborted);
            var created = await tallies.CreateAsync(user, body, context.RequestAborted);
            return ApiJson.Created(context, created, $"/api/tallies/{created.Uuid}");
        });
        api.MapGet("/tallies/{tally}", async (HttpContext context, string tally, Tallies tallies) =>
        {
            var user = await ApiAuth.UserAsync(context);
            return Results.Json(await tallies.GetAsync(user, TallyId(tally), context.RequestAborted), ApiJson.Options);
        });
        api.MapMethods("/tallies/{tally}", ["PATCH"], async (HttpContext context, string tally, Tallies tallies) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = await ApiJson.ReadAsync<TallyEdit>(context.Request, context.RequestAborted);
            return Results.Json(await tallies.UpdateAsync(user, TallyId(tally), body, context.RequestAborted), ApiJson.Options);
        });
        api.MapPost("/tallies/{tally}/invite", async (HttpContext context, string tally, Tallies tallies) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = context.Request.ContentLength is null or 0 ? new InviteRequest() : await ApiJson.ReadAsync<InviteRequest>(context.Request, context.RequestAborted);
            var lifetime = body.ExpiresMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : (TimeSpan?)null;
            // Created, but not a resource one can read back: no Location.
            return ApiJson.Created(context, await tallies.InviteAsync(user, TallyId(tally), lifetime, context.RequestAborted), location: null);
        });
        api.MapPost("/invitations/redeem", async (HttpContext context, Tallies tallies) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = await ApiJson.ReadAsync<RedeemRequest>(context.Request, context.RequestAborted);
            await PeerHostCheck.EnsureAllowedAsync(context, body.Chad.ToChad());
            var local = await tallies.RedeemAsync(user, body.Token, body.Chad.ToChad(), body.ParseExpires(), context.RequestAborted);
            return Results.Json(new { delivered = local ? "local" : "queued" }, ApiJson.Options, statusCode: StatusCodes.Status202Accepted);
        }).RequireRateLimiting(ApiRateLimits.Redeem);
        api.MapPost("/tallies/{tally}/offer", async (HttpContext context, string tally, Tallies tallies) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = await ApiJson.ReadAsync<SignatureRequest>(context.Request, context.RequestAborted);
            return Results.Json(await tallies.OfferAsync(user, TallyId(tally), body.Signature, context.RequestAborted), ApiJson.Options);
        });
        api.MapPost("/tallies/{tally}/accept", async (HttpContext context, string tally, Tallies tallies) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = await ApiJson.ReadAsync<SignatureRequest>(context.Request, context.RequestAborted);
            return Results.Json(await tallies.AcceptAsync(user, TallyId(tally), body.Signature, context.RequestAborted), ApiJson.Options);
        });
        api.MapPost("/tallies/{tally}/refuse", async (HttpContext context, string tally, Tallies tallies) =>
            Results.Json(await tallies.RefuseAsync(await ApiAuth.UserAsync(context), TallyId(tally), context.RequestAborted), ApiJson.Options));
        api.MapPost("/tallies/{tally}/revise", async (HttpContext context, string tally, Tallies tallies) =>
            Results.Json(await tallies.ReviseAsync(await ApiAuth.UserAsync(context), TallyId(tally), context.RequestAborted), ApiJson.Options));
        api.MapGet("/tallies/{tally}/chain", async (HttpContext context, string tally, Tallies tallies, SiteTransactions transactions) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var view = await tallies.GetAsync(user, TallyId(tally), context.RequestAborted);
            await using var connection = await transactions.DataSource.OpenConnectionAsync(context.RequestAborted);
            var result = await HashChain.VerifyAsync(connection, view.Uuid, view.Type, context.RequestAborted);
            return Results.Json(new
            {
                result.Valid, result.Length, head = result.Head is null ? null : MyChips.Data.Crypto.Base64Url.Encode(result.Head),
                result.Problem, digest = view.Digest, view.ChainConf,
            }, ApiJson.Options);
        });
        api.MapGet("/balance", async (HttpContext context, Tallies tallies) =>
            Results.Json(await tallies.BalanceAsync(await ApiAuth.UserAsync(context), context.RequestAborted), ApiJson.Options));
    }

    public static Guid TallyId(string value) => ApiAuth.Id(value, _ => new DomainException("tally_not_found", $"No tally '{value}' of yours.", 404));
}
