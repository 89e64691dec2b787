namespace MyChips.Server.Upgrade;

/// <summary>The one shape of "not now, retry": 503, <c>Retry-After</c>, and a JSON body with a stable code.</summary>
internal static class UnavailableResponse
{
    /// <summary>Seconds a client (or load balancer) should wait before retrying, here or elsewhere.</summary>
    public const int RetryAfterSeconds = 1;

    public static Task WriteAsync(HttpContext context, string code, string message, CancellationToken cancellationToken)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return context.Response.WriteAsJsonAsync(new { error = code, message }, cancellationToken);
    }
}
