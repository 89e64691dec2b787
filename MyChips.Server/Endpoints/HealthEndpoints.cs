using MyChips.Server.Hosting;

namespace MyChips.Server.Endpoints;

/// <summary><c>/healthz</c> (the process is alive) and <c>/readyz</c> (it serves: not starting, holding, draining or fenced).</summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => Results.Json(new { status = "alive" }));
        endpoints.MapGet("/readyz", (InstanceStatus status) =>
        {
            var (state, reason) = status.Snapshot();
            var body = new { state = state.ToString().ToLowerInvariant(), reason };
            return state == InstanceState.Serving
                ? Results.Json(body)
                : Results.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        return endpoints;
    }
}
