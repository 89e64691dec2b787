using MyChips.Data;
using MyChips.Data.Domain;

namespace MyChips.Server.Api;

/// <summary>
/// Turns refusals into <c>{"error":{"code","message"}}</c> with their status, and logs them (code and route only:
/// never a body, token, ticket or key).
/// </summary>
internal sealed class ApiErrors(RequestDelegate next, ILogger<ApiErrors> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (DomainException e) when (!context.Response.HasStarted)
        {
            logger.LogInformation("Refused {Method} {Path}: {Status} {Code}", context.Request.Method, context.Request.Path, e.Status, e.Code);
            await WriteAsync(context, e.Status, e.Code, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            await WriteAsync(context, e.StatusCode, "bad_request", e.Message).ConfigureAwait(false);
        }
        catch (FencedException e) when (!context.Response.HasStarted)
        {
            context.Response.Headers.RetryAfter = "5";
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, FencedException.Code, e.Message).ConfigureAwait(false);
        }
    }

    public static Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ErrorBody(new ErrorDetail(code, message)), ApiJson.Options);
    }

    private sealed record ErrorBody(ErrorDetail Error);

    private sealed record ErrorDetail(string Code, string Message);
}
