using System.Globalization;
using MyChips.Data;

namespace MyChips.Server.Upgrade;

/// <summary>
/// Puts every web request (WebSocket upgrades included) through the <see cref="HoldGate"/>; the health and metrics
/// endpoints pass by, so probes see the truth while work is held. Work that the gate turns away gets 503 with
/// <c>Retry-After</c>, and admitted work that was held says so in <c>X-MyChips-Held-Ms</c>. A transaction refused by
/// the fence (<see cref="FencedException"/>) in any endpoint is answered the same way.
/// </summary>
internal sealed class HoldGateMiddleware(RequestDelegate next, HoldGate gate, UpgradeMetrics metrics)
{
    public const string HeldHeader = "X-MyChips-Held-Ms";

    public async Task InvokeAsync(HttpContext context)
    {
        if (IsExempt(context.Request.Path))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        metrics.RequestStarted();
        HoldResult result;
        try
        {
            result = await gate.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // The client went away while held; nobody to answer.
        }

        if (result.Admitted)
        {
            if (result.WasHeld)
            {
                context.Response.Headers[HeldHeader] = ((long)result.HeldFor.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            }

            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (FencedException e) when (!context.Response.HasStarted)
            {
                // The transaction was refused and rolled back: nothing was written, a newer instance can take it.
                await UnavailableResponse.WriteAsync(context, FencedException.Code, e.Message, context.RequestAborted).ConfigureAwait(false);
            }

            return;
        }

        var code = result.Outcome == HoldOutcome.TimedOut ? "hold_timeout" : "not_serving";
        await UnavailableResponse.WriteAsync(context, code, result.Reason ?? "this instance is not serving", context.RequestAborted).ConfigureAwait(false);
    }

    private static bool IsExempt(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics");
}
