using MyChips.Data.Domain;

namespace MyChips.Server.Api;

/// <summary>The caller's identity from <c>Authorization: Bearer</c> (or <c>access_token</c> for the WebSocket upgrade).</summary>
internal static class ApiAuth
{
    public static Task<AuthenticatedUser> UserAsync(HttpContext context, bool allowQuery = false)
    {
        var sessions = context.RequestServices.GetRequiredService<Sessions>();
        return sessions.AuthenticateAsync(Token(context, allowQuery), context.RequestAborted);
    }

    public static string? Token(HttpContext context, bool allowQuery = false)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return header["Bearer ".Length..].Trim();
        return allowQuery ? context.Request.Query["access_token"].ToString() : null;
    }

    public static Guid Id(string value, Func<Guid, DomainException> notFound) =>
        Guid.TryParse(value, out var id) ? id : throw notFound(Guid.Empty);
}
