using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using MyChips.Server.Hosting;

namespace MyChips.Server.Api;

/// <summary>Section <c>RateLimit</c>: how often anonymous logins and invitation redeems may be tried.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimit";

    /// <summary>Login challenges plus ticket logins per client IP and minute (each challenge writes a row).</summary>
    public int LoginPerMinute { get; set; } = 60;

    /// <summary>Invitation redeems per user and minute (each makes the site dial the host the CHAD names).</summary>
    public int RedeemPerMinute { get; set; } = 10;

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the key of a value that cannot work.</summary>
    public void Validate()
    {
        if (LoginPerMinute is < 1 or > 1_000_000)
            throw new ConfigurationException($"{Section}:{nameof(LoginPerMinute)} must be from 1 to 1000000 per minute; got {LoginPerMinute}.");
        if (RedeemPerMinute is < 1 or > 1_000_000)
            throw new ConfigurationException($"{Section}:{nameof(RedeemPerMinute)} must be from 1 to 1000000 per minute; got {RedeemPerMinute}.");
    }
}

/// <summary>
/// ASP.NET Core's rate limiter on the API: login challenges and ticket logins per client IP (anonymous callers), invitation
/// redeems per user. Over the limit: 429 <c>rate_limited</c> in the API's error shape, with <c>Retry-After</c>.
/// </summary>
internal static class ApiRateLimits
{
    public const string Login = "login";
    public const string Redeem = "redeem";
    public const string Code = "rate_limited";

    private static readonly object UserKey = new();

    public static IServiceCollection AddApiRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var limits = configuration.Bind<RateLimitOptions>(RateLimitOptions.Section);
        limits.Validate();
        services.AddRateLimiter(options =>
        {
            options.AddPolicy(Login, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "",
                _ => Window(limits.LoginPerMinute)));
            // The user is known once the bearer token was checked (UserBeforeLimit, before the limiter).
            options.AddPolicy(Redeem, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Items[UserKey] is long userId ? userId : 0L,
                _ => Window(limits.RedeemPerMinute)));
            options.OnRejected = RejectedAsync;
        });
        return services;
    }

    /// <summary>In the <c>/api</c> branch, after <c>ApiErrors</c> (a missing or bad token is 401 before any limit counts).</summary>
    public static IApplicationBuilder UseApiRateLimits(this IApplicationBuilder api)
    {
        api.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName == Redeem)
                context.Items[UserKey] = (await ApiAuth.UserAsync(context).ConfigureAwait(false)).UserId;
            await next(context).ConfigureAwait(false);
        });
        return api.UseRateLimiter();
    }

    private static FixedWindowRateLimiterOptions Window(int permits) => new()
    {
        PermitLimit = permits,
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    private static async ValueTask RejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        context.RequestServices.GetRequiredService<ILogger<RateLimitOptions>>().LogInformation(
            "Refused {Method} {Path}: 429 {Code} (retry after {Seconds} s)", context.Request.Method, context.Request.Path, Code, seconds);
        await ApiErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, Code,
            $"Too many requests; try again in {seconds} s.").ConfigureAwait(false);
    }
}
