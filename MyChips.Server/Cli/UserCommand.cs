using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MyChips.Data;
using MyChips.Data.Domain;
using MyChips.Server.Hosting;

namespace MyChips.Server.Cli;

/// <summary><c>mychips user add --name NAME [--cuid CUID]</c> and <c>mychips user ticket USER [--expires MINUTES]</c>.</summary>
internal static class UserCommand
{
    // Printed for a person to read and copy: '&' in the URL stays '&'. (Still valid JSON.)
    private static readonly JsonSerializerOptions ConsoleJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(SiteOptions site)
    {
        var name = new Option<string>("--name") { Description = "The user's name (shown in their certificate).", Required = true };
        var cuid = new Option<string?>("--cuid") { Description = "The CHIP user id, unique on this site (default p<1000+id>)." };
        var add = new Command("add", "Add a user to the site.") { name, cuid };
        add.SetAction((result, cancellationToken) => CliErrors.RunAsync(() => WithDomainAsync(site.Flags(result), async domain =>
        {
            var user = await domain.Users.AddAsync(result.GetValue(name)!, result.GetValue(cuid), cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Added user {user.Cuid} ({user.Name}) on agent {user.Agent}.");
            Console.WriteLine(JsonSerializer.Serialize(new { user = user.Cuid, name = user.Name, agent = user.Agent }, ConsoleJson));
            return 0;
        }, cancellationToken)));

        var user = new Argument<string>("USER") { Description = "The user's CHIP user id." };
        var expires = new Option<int?>("--expires") { Description = "Minutes until the ticket expires (default 30)." };
        var ticket = new Command("ticket", "Issue a single-use login ticket; prints its URL and JSON.") { user, expires };
        ticket.SetAction((result, cancellationToken) => CliErrors.RunAsync(() => WithDomainAsync(site.Flags(result), async domain =>
        {
            var lifetime = result.GetValue(expires) is { } minutes ? TimeSpan.FromMinutes(minutes) : (TimeSpan?)null;
            var issued = await domain.Tickets.IssueAsync(result.GetValue(user)!, lifetime, cancellationToken).ConfigureAwait(false);
            Console.WriteLine(issued.Url);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                ticket = new
                {
                    url = issued.Url,
                    user = issued.User,
                    token = issued.Token,
                    expires = issued.Expires.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                },
            }, ConsoleJson));
            return 0;
        }, cancellationToken)));

        return new Command("user", "Manage the site's users.") { add, ticket };
    }

    private static async Task<int> WithDomainAsync(Dictionary<string, string?> flags, Func<CliDomain, Task<int>> action, CancellationToken cancellationToken)
    {
        try
        {
            using var loggers = CliLogging.CreateFactory();
            await using var session = await SiteDatabaseSession.OpenAsync(flags, loggers, cancellationToken).ConfigureAwait(false);
            // A fresh site: bring the schema to this code's version first, as serve would.
            var snapshot = await session.Migrator.ReadAsync(cancellationToken).ConfigureAwait(false);
            snapshot.EnsureConsistent();
            if (snapshot.Pending.Any())
            {
                var identity = InstanceIdentity.ForThisProcess(snapshot.Code.CodeVersion);
                await session.Migrator.MigrateAsync($"mychips user {identity}", identity.Id, beforeContract: null, cancellationToken).ConfigureAwait(false);
            }

            var configuration = SiteConfiguration.Build(flags);
            var options = configuration.Bind<DomainOptions>(DomainOptions.Section);
            if (configuration[$"{DomainOptions.Section}:{nameof(DomainOptions.PublicUrl)}"] is null && configuration[$"{WebListenerOptions.Section}:Url"] is { } web)
                options.PublicUrl = web;
            var wrapped = Options.Create(options);
            var transactions = new SiteTransactions(session.DataSource, new SiteCodeVersion(snapshot.Code.CodeVersion));
            var agents = new SiteAgents(transactions, wrapped);
            var sessions = new Sessions(session.DataSource, wrapped);
            return await action(new CliDomain(new Users(transactions, agents), new Tickets(transactions, agents, sessions, wrapped))).ConfigureAwait(false);
        }
        catch (DomainException e)
        {
            Console.Error.WriteLine($"mychips: error [{e.Code}]: {e.Message}");
            return CliErrors.Failure;
        }
    }

    private sealed record CliDomain(Users Users, Tickets Tickets);
}
