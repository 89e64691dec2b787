using MyChips.Data.Domain;

namespace MyChips.Server.Api;

/// <summary>Chits on a tally: pay, invoice, approve, refuse, settings, list and show.</summary>
internal static class ChitEndpoints
{
    // A new chit answers 201 with its view and where to read it again (also when the context guard answers a repeat).
    private static IResult Created(HttpContext context, ChitView chit) =>
        ApiJson.Created(context, chit, $"/api/tallies/{chit.Tally}/chits/{chit.Uuid}");

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/tallies/{tally}/chits", async (HttpContext context, string tally, Chits chits) =>
        {
            var user = await ApiAuth.UserAsync(context);
            return Results.Json(await chits.ListAsync(user, TallyEndpoints.TallyId(tally), null, context.RequestAborted), ApiJson.Options);
        });
        api.MapGet("/tallies/{tally}/chits/{chit}", async (HttpContext context, string tally, string chit, Chits chits) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var id = ChitId(chit);
            var found = await chits.ListAsync(user, TallyEndpoints.TallyId(tally), id, context.RequestAborted);
            return Results.Json(found.Count == 1 ? found[0] : throw DomainErrors.ChitNotFound(id), ApiJson.Options);
        });
        api.MapPost("/tallies/{tally}/pay", async (HttpContext context, string tally, Chits chits) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = await ApiJson.ReadAsync<Payment>(context.Request, context.RequestAborted);
            return Created(context, await chits.PayAsync(user, TallyEndpoints.TallyId(tally), body, context.RequestAborted));
        });
        api.MapPost("/tallies/{tally}/invoice", async (HttpContext context, string tally, Chits chits) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = await ApiJson.ReadAsync<InvoiceRequest>(context.Request, context.RequestAborted);
            return Created(context, await chits.InvoiceAsync(user, TallyEndpoints.TallyId(tally), body, context.RequestAborted));
        });
        api.MapPost("/tallies/{tally}/settings", async (HttpContext context, string tally, Chits chits) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = await ApiJson.ReadAsync<SettingsRequest>(context.Request, context.RequestAborted);
            return Created(context, await chits.SettingsAsync(user, TallyEndpoints.TallyId(tally), body, context.RequestAborted));
        });
        api.MapPost("/tallies/{tally}/chits/{chit}/approve", async (HttpContext context, string tally, string chit, Chits chits) =>
        {
            var user = await ApiAuth.UserAsync(context);
            var body = await ApiJson.ReadAsync<SignatureRequest>(context.Request, context.RequestAborted);
            return Results.Json(await chits.ApproveAsync(user, TallyEndpoints.TallyId(tally), ChitId(chit), body.Signature, context.RequestAborted), ApiJson.Options);
        });
        api.MapPost("/tallies/{tally}/chits/{chit}/refuse", async (HttpContext context, string tally, string chit, Chits chits) =>
            Results.Json(await chits.RefuseAsync(await ApiAuth.UserAsync(context), TallyEndpoints.TallyId(tally), ChitId(chit), context.RequestAborted), ApiJson.Options));
    }

    private static Guid ChitId(string value) => ApiAuth.Id(value, _ => new DomainException("chit_not_found", $"No chit '{value}' on that tally of yours.", 404));
}
