using System.Net;
using MyChips.Data;
using MyChips.Data.Schema;
using MyChips.Data.Upgrade;
using MyChips.Server.Api;
using MyChips.Server.Endpoints;
using MyChips.Server.Peer;
using MyChips.Server.Upgrade;
using Npgsql;
using Serilog;

namespace MyChips.Server.Hosting;

/// <summary>Builds the web application of one <c>mychips</c> process over a resolved site database.</summary>
public static class SiteHost
{
    /// <summary>Creates the builder with every service of a site; tests may adjust it before building.</summary>
    public static WebApplicationBuilder CreateBuilder(IReadOnlyDictionary<string, string?> flags, string connectionString)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddSiteSources(flags);

        var configuration = builder.Configuration;
        builder.Services.AddSerilog((_, logger) => logger
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting", Serilog.Events.LogEventLevel.Information)
            .ReadFrom.Configuration(configuration)
            // After the operator's settings, on purpose: ASP.NET Core's "Request starting" line carries the query
            // string, where the WebSocket's access_token travels. Serilog's request log line has the path only.
            .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", Serilog.Events.LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .Filter.ByExcluding(HostStartupNoise.Matches)
            .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}"));

        var web = configuration.Bind<WebListenerOptions>(WebListenerOptions.Section);
        var webEndpoint = ParseEndpoint(web.Url, $"{WebListenerOptions.Section}:Url");
        web.Validate();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(webEndpoint));
        builder.Services.Configure<WebListenerOptions>(configuration.GetSection(WebListenerOptions.Section));
        _ = WebListenerOptions.PublicUrl(configuration); // a bad Domain:PublicUrl stops the start, not a request
        var corsOrigins = web.ValidatedCorsOrigins();
        if (corsOrigins.Length > 0)
        {
            // Bearer tokens, no cookies: credentials are not allowed, so a listed origin gets nothing a page could not send anyway.
            builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.WithOrigins(corsOrigins).AllowAnyHeader().AllowAnyMethod()));
        }

        var schemaOptions = configuration.Bind<SchemaOptions>("Schema");
        var migrations = schemaOptions.LoadMigrations();
        builder.Services.AddSingleton(schemaOptions);
        builder.Services.AddSingleton(migrations);
        builder.Services.AddSingleton(_ => CreateDataSource(connectionString));
        builder.Services.AddSingleton<SchemaMigrator>();
        builder.Services.AddSingleton<InstanceRegistry>();
        builder.Services.AddSingleton(InstanceIdentity.ForThisProcess(migrations.CodeVersion));
        builder.Services.AddSingleton<InstanceStatus>();
        builder.Services.AddSingleton(new SiteCodeVersion(migrations.CodeVersion));
        builder.Services.AddSingleton<SiteTransactions>();
        builder.Services.AddUpgradeMode(configuration);
        builder.Services.AddSiteSettingsValidation();
        builder.Services.AddUserApi();
        builder.Services.AddApiRateLimits(configuration);
        builder.Services.AddRetention(configuration);
        builder.AddSitePeer();
        return builder;
    }

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.UseSerilogRequestLogging();
        // Before the hold gate: a browser's preflight is answered without waiting for an upgrade.
        if (app.Services.GetService<Microsoft.AspNetCore.Cors.Infrastructure.ICorsService>() is not null)
            app.UseCors();
        app.UseUpgradeMode();
        app.MapHealth();
        app.MapUserApi();
        return app;
    }

    /// <summary>
    /// The site's data source. Unless the connection string says otherwise, statements used twice are prepared
    /// automatically: every request runs the same few statements, so this saves PostgreSQL a parse and plan each.
    /// </summary>
    internal static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString) { Name = "mychips" };
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 64;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }

        return builder.Build();
    }

    /// <summary>The addresses Kestrel actually bound (a port of 0 in the configuration becomes a real one).</summary>
    public static IReadOnlyList<string> BoundAddresses(this WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    internal static IPEndPoint ParseEndpoint(string url, string key)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new ConfigurationException($"{key} must be an http:// URL with a host and port, e.g. http://127.0.0.1:8080; got '{url}'. (Terminate TLS in a proxy in front.)");
        }

        var address = uri.Host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(uri.Host.Trim('[', ']'), out var parsed) ? parsed
            : throw new ConfigurationException($"{key}: '{uri.Host}' is not an IP address or localhost.");
        return new IPEndPoint(address, uri.Port);
    }
}
