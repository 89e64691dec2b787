using MyChips.Data.Domain;

namespace MyChips.Server.Hosting;

/// <summary>The web listener: the single-page app, the JSON API and the WebSocket.</summary>
public sealed class WebListenerOptions
{
    public const string Section = "Web";

    /// <summary>Where the web listener binds; loopback by default, put a TLS proxy in front for the public.</summary>
    public string Url { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Push WebSockets one user may hold open on this instance; more are refused (429 <c>too_many_sockets</c>).</summary>
    public int MaxSocketsPerUser { get; set; } = 8;

    /// <summary>Push WebSockets this instance holds open in total; more are refused (429 <c>socket_limit_reached</c>).</summary>
    public int MaxSockets { get; set; } = 1000;

    /// <summary>Refuses values that cannot work, naming the key (a configuration error stops the start).</summary>
    public void Validate()
    {
        if (MaxSockets is < 1 or > 1_000_000)
            throw new ConfigurationException($"{Section}:{nameof(MaxSockets)} must be from 1 to 1000000; got {MaxSockets}.");
        if (MaxSocketsPerUser < 1 || MaxSocketsPerUser > MaxSockets)
            throw new ConfigurationException($"{Section}:{nameof(MaxSocketsPerUser)} must be from 1 to {Section}:{nameof(MaxSockets)} ({MaxSockets}); got {MaxSocketsPerUser}.");
    }

    /// <summary>Origins whose browser apps may call the API (CORS); empty, the default, sends no CORS headers at all.</summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary>The CORS origins, checked: each an origin (scheme, host, optional port), never a pattern or a path.</summary>
    public string[] ValidatedCorsOrigins()
    {
        for (var i = 0; i < CorsOrigins.Length; i++)
        {
            var origin = CorsOrigins[i];
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.AbsolutePath != "/" || origin.TrimEnd('/').Length != uri.GetLeftPart(UriPartial.Authority).Length
                || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
            {
                throw new ConfigurationException(
                    $"{Section}:{nameof(CorsOrigins)}:{i} must be an origin such as https://app.example.org or http://127.0.0.1:3000 (scheme, host, optional port; no path or wildcard); got '{origin}'.");
            }
        }

        return CorsOrigins.Select(o => o.TrimEnd('/')).ToArray();
    }

    /// <summary>
    /// The site's public base URL for the links it hands out (tickets, invitations): <c>Domain:PublicUrl</c> when set,
    /// else the configured web listener. Checked, so a bad value stops the start instead of producing broken links.
    /// </summary>
    public static string PublicUrl(IConfiguration configuration)
    {
        var key = $"{DomainOptions.Section}:{nameof(DomainOptions.PublicUrl)}";
        if (configuration[key] is { } configured && !string.IsNullOrWhiteSpace(configured))
        {
            if (!Uri.TryCreate(configured, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
                throw new ConfigurationException($"{key} must be an absolute http:// or https:// URL such as https://chips.example.org; got '{configured}'.");
            return configured.TrimEnd('/');
        }

        return configuration[$"{Section}:{nameof(Url)}"] is { } web && !string.IsNullOrWhiteSpace(web) ? web.TrimEnd('/') : new WebListenerOptions().Url;
    }
}
