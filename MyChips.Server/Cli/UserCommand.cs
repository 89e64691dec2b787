using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MyChips.Data;
using MyChips.Data.Domain;
using MyChips.Server.Hosting;

namespace MyChips.Server.Cli;

/// <summary><c>mychips user add|ticket|list|disable|enable|revoke-key</c>: the operator's user management.</summary>
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
        var expires = new Option<int?>("--expires") { CustomParser = CliParsers.WholeNumber, Description = "Minutes until the ticket expires (default 30)." };
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

        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var list = new Command("list", "List the site's users: id, cuid, name, disabled, key registered, created.") { json };
        list.SetAction((result, cancellationToken) => CliErrors.RunAsync(() => WithDomainAsync(site.Flags(result), async domain =>
        {
            var users = await domain.Users.ListAsync(cancellationToken).ConfigureAwait(false);
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    users = users.Select(u => new { id = u.UserId, cuid = u.Cuid, name = u.Name, disabled = u.Disabled, keyRegistered = u.KeyRegistered, created = Date(u.CreatedAt) }),
                }, ConsoleJson));
                return 0;
            }

            var rows = users.Select(u => new[] { u.UserId.ToString(CultureInfo.InvariantCulture), u.Cuid, u.Name, u.Disabled ? "yes" : "no", u.KeyRegistered ? "yes" : "no", Date(u.CreatedAt) })
                .Prepend(["ID", "CUID", "NAME", "DISABLED", "KEY", "CREATED"]).ToList();
            var widths = Enumerable.Range(0, 6).Select(i => rows.Max(r => r[i].Length)).ToArray();
            foreach (var row in rows)
                Console.WriteLine(string.Join("  ", row.Select((cell, i) => i == 5 ? cell : cell.PadRight(widths[i]))));
            return 0;
        }, cancellationToken)));

        var disable = ChangeCommand(site, "disable", "Disable a user: no login, their sessions end at once; their tallies keep working for their partners.",
            (users, cuid, ct) => users.SetDisabledAsync(cuid, true, ct), u => $"User {u.Cuid} is disabled; their sessions have ended.");
        var enable = ChangeCommand(site, "enable", "Enable a disabled user again.",
            (users, cuid, ct) => users.SetDisabledAsync(cuid, false, ct), u => $"User {u.Cuid} is enabled.");
        var revoke = ChangeCommand(site, "revoke-key", "Remove the user's registered key and end their sessions; they need a new ticket to log in.",
            (users, cuid, ct) => users.RevokeKeyAsync(cuid, ct), u => $"The key of user {u.Cuid} is revoked; their sessions have ended. Issue a new ticket (mychips user ticket {u.Cuid}).");

        return new Command("user", "Manage the site's users.") { add, ticket, list, disable, enable, revoke };
    }

    private static string Date(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static Command ChangeCommand(SiteOptions site, string verb, string description,
        Func<Users, string, CancellationToken, Task<UserListing>> change, Func<UserListing, string> message)
    {
        var user = new Argument<string>("USER") { Description = "The user's CHIP user id." };
        var command = new Command(verb, description) { user };
        command.SetAction((result, cancellationToken) => CliErrors.RunAsync(() => WithDomainAsync(site.Flags(result), async domain =>
        {
            var changed = await change(domain.Users, result.GetValue(user)!, cancellationToken).ConfigureAwait(false);
            Console.WriteLine(message(changed));
            return 0;
        }, cancellationToken)));
        return command;
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
            options.PublicUrl = WebListenerOptions.PublicUrl(configuration);
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
