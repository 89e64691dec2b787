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
}
