namespace MyChips.Server.Hosting;

/// <summary>The web listener: the single-page app, the JSON API and the WebSocket.</summary>
public sealed class WebListenerOptions
{
    public const string Section = "Web";

    /// <summary>Where the web listener binds; loopback by default, put a TLS proxy in front for the public.</summary>
    public string Url { get; set; } = "http://127.0.0.1:8080";
}
