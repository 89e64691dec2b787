using Microsoft.Extensions.DependencyInjection;
using MyChips.Data;
using MyChips.Data.Retention;
using MyChips.Server.Hosting;
using MyChips.Tests.Infrastructure;
using Npgsql;

namespace MyChips.Tests.Api;

/// <summary>
/// Retention: tokens, settled outbox rows, received message ids, push events and redemptions past their retention are
/// deleted, rows within it (or still in use) are kept; batches are bounded; one instance prunes at a time (another that
/// finds the advisory lock taken skips its run); the service runs on its schedule; bad settings stop the start.
/// </summary>
[Collection(UserApiCollection.Name)]
public sealed class RetentionTests(PostgresServer server)
{
    private static readonly Dictionary<string, string?> ServiceOff = new() { ["Retention:Enabled"] = "false" };

    // Each row's tag says whether it must go ('old') or stay ('keep'); the default retentions apply.
    private const string Rows = """
        INSERT INTO mychips.agents (agent, host, port) VALUES (repeat('p', 43), '127.0.0.1', 1) ON CONFLICT DO NOTHING;
        INSERT INTO mychips.tokens (user_id, purpose, token_hash, expires_at, used_at, created_at) VALUES
            ($1, 'challenge', sha256('old-challenge'), now() - interval '2 hours', NULL, now() - interval '3 hours'),
            ($1, 'session', sha256('old-session'), now() - interval '61 minutes', NULL, now() - interval '2 hours'),
            ($1, 'session', sha256('keep-session-expired'), now() - interval '50 minutes', NULL, now() - interval '2 hours'),
            ($1, 'login', sha256('keep-ticket-used'), now() + interval '10 minutes', now() - interval '2 hours', now() - interval '3 hours');
        INSERT INTO mychips.outbox (peer_agent, message, idempotency_key, sent_at, gave_up_at, settled_by, created_at) VALUES
            (repeat('p', 43), '{}', 'old-delivered', now() - interval '8 days', NULL, 'receipt', now() - interval '9 days'),
            (repeat('p', 43), '{}', 'old-gave-up', NULL, now() - interval '8 days', 'gave_up', now() - interval '9 days'),
            (repeat('p', 43), '{}', 'keep-delivered', now() - interval '6 days', NULL, 'receipt', now() - interval '9 days'),
            (repeat('p', 43), '{}', 'keep-pending', NULL, NULL, NULL, now() - interval '60 days');
        INSERT INTO mychips.received_messages (message_id, peer_agent, received_at) VALUES
            ('old-received', repeat('p', 43), now() - interval '31 days'),
            ('keep-received', repeat('p', 43), now() - interval '29 days');
        INSERT INTO mychips.user_events (user_id, events, created_at) VALUES
            ($1, '["old-event"]', now() - interval '8 days'),
            ($1, '["keep-event"]', now() - interval '6 days');
        INSERT INTO mychips.redemptions (user_id, inviter_cuid, inviter_agent, expires_at, used_at, created_at) VALUES
            ($1, 'old-used', repeat('p', 43), now() + interval '1 day', now() - interval '8 days', now() - interval '9 days'),
            ($1, 'old-expired', repeat('p', 43), now() - interval '8 days', NULL, now() - interval '38 days'),
            ($1, 'keep-used', repeat('p', 43), now() + interval '1 day', now() - interval '6 days', now() - interval '9 days'),
            ($1, 'keep-open', repeat('p', 43), now() + interval '1 day', NULL, now() - interval '60 days');
        """;

    [Fact]
    public async Task Rows_past_each_retention_are_deleted_and_rows_within_it_or_still_in_use_are_kept()
    {
        await using var site = await ApiSite.StartAsync(server, "retention", ServiceOff);
        using var adam = await site.AddUserAsync("adam");
        await SeedAsync(site);
        var before = await TagsAsync(site);
        Assert.Equal(8, before.Count(t => t.StartsWith("old", StringComparison.Ordinal)));

        var result = await site.App.Services.GetRequiredService<RetentionPruner>().RunAsync(new RetentionOptions(), CancellationToken.None);

        Assert.False(result.Skipped);
        Assert.Equal(before.Where(t => !t.StartsWith("old", StringComparison.Ordinal)).Order(), (await TagsAsync(site)).Order());
        Assert.Equal(new Dictionary<string, long> { ["tokens"] = 2, ["outbox"] = 2, ["received_messages"] = 1, ["user_events"] = 1, ["redemptions"] = 2 }, result.Deleted);
        await adam.GetAsync("/api/me"); // the live session is untouched

        var again = await site.App.Services.GetRequiredService<RetentionPruner>().RunAsync(new RetentionOptions(), CancellationToken.None);
        Assert.Equal(0, again.Total);
    }

    [Fact]
    public async Task Pruning_deletes_in_batches_of_the_configured_size()
    {
        await using var site = await ApiSite.StartAsync(server, "retbatch", ServiceOff);
        await using (var connection = await site.OpenAsync())
            await new NpgsqlCommand("INSERT INTO mychips.received_messages (message_id, peer_agent, received_at) SELECT 'm' || i, 'p', now() - interval '40 days' FROM generate_series(1, 25) i", connection).ExecuteNonQueryAsync();

        var result = await site.App.Services.GetRequiredService<RetentionPruner>().RunAsync(new RetentionOptions { BatchSize = 10 }, CancellationToken.None);

        Assert.Equal(25, result.Deleted["received_messages"]);
        Assert.Equal(3 + 4, result.Batches); // 10 + 10 + 5, and one empty batch for each of the other four tables
        Assert.Equal(0L, await CountAsync(site, "SELECT count(*) FROM mychips.received_messages"));
    }

    [Fact]
    public async Task An_instance_skips_its_run_while_another_holds_the_pruning_lock()
    {
        await using var site = await ApiSite.StartAsync(server, "retlock", ServiceOff);
        await using (var connection = await site.OpenAsync())
            await new NpgsqlCommand("INSERT INTO mychips.received_messages (message_id, peer_agent, received_at) VALUES ('old', 'p', now() - interval '40 days')", connection).ExecuteNonQueryAsync();
        var pruner = site.App.Services.GetRequiredService<RetentionPruner>();

        // Another instance's run: the same session-level lock, held by another connection.
        await using (var other = await site.OpenAsync())
        {
            await new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLockKeys.Retention})", other).ExecuteNonQueryAsync();
            var skipped = await pruner.RunAsync(new RetentionOptions(), CancellationToken.None);
            Assert.True(skipped.Skipped);
            Assert.Equal(1L, await CountAsync(site, "SELECT count(*) FROM mychips.received_messages"));
            await new NpgsqlCommand($"SELECT pg_advisory_unlock({AdvisoryLockKeys.Retention})", other).ExecuteNonQueryAsync();
        }

        var ran = await pruner.RunAsync(new RetentionOptions(), CancellationToken.None);
        Assert.False(ran.Skipped);
        Assert.Equal(0L, await CountAsync(site, "SELECT count(*) FROM mychips.received_messages"));
        // The run let go of its lock: it is free for the next instance.
        Assert.True((bool)(await ScalarAsync(site, $"SELECT pg_try_advisory_lock({AdvisoryLockKeys.Retention})"))!);
    }

    [Fact]
    public async Task The_site_prunes_on_its_interval()
    {
        await using var site = await ApiSite.StartAsync(server, "retservice", new Dictionary<string, string?> { ["Retention:Interval"] = "00:00:01" });
        using var adam = await site.AddUserAsync("adam");
        await SeedAsync(site);

        await Wait.UntilAsync(async () => !(await TagsAsync(site)).Any(t => t.StartsWith("old", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "the old rows are pruned");
        Assert.Contains("keep-received", await TagsAsync(site));
    }

    [Theory]
    [InlineData("Retention:ReceivedMessages", "02:00:00")]
    [InlineData("Retention:Outbox", "-1.00:00:00")]
    [InlineData("Retention:BatchSize", "0")]
    [InlineData("Retention:Interval", "00:00:00")]
    [InlineData("Retention:UserEvents", "a week")]
    public void A_retention_setting_that_cannot_work_is_a_configuration_error_naming_the_key(string key, string value)
    {
        var flags = new Dictionary<string, string?> { ["Web:Url"] = "http://127.0.0.1:0", ["Peer:Endpoint"] = "127.0.0.1:0", [key] = value };

        var error = Assert.Throws<ConfigurationException>(() => SiteHost.CreateBuilder(flags, "Host=127.0.0.1"));

        Assert.Contains(value == "a week" ? "Retention" : key, error.Message, StringComparison.Ordinal);
    }

    private static async Task SeedAsync(ApiSite site)
    {
        await using var connection = await site.OpenAsync();
        var userId = (long)(await new NpgsqlCommand("SELECT user_id FROM mychips.users WHERE cuid = 'adam'", connection).ExecuteScalarAsync())!;
        // Several statements in one command go unprepared only without parameters: the user id is written in.
        await using var batch = new NpgsqlCommand(Rows.Replace("$1", userId.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal), connection);
        await batch.ExecuteNonQueryAsync();
    }

    // Every seeded row's tag, from whichever column carries it (tokens by their hash).
    private static async Task<List<string>> TagsAsync(ApiSite site)
    {
        await using var connection = await site.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT tag FROM (VALUES ('old-challenge'), ('old-session'), ('keep-session-expired'), ('keep-ticket-used')) v(tag)
              WHERE EXISTS (SELECT FROM mychips.tokens WHERE token_hash = sha256(v.tag::bytea))
            UNION ALL SELECT idempotency_key FROM mychips.outbox
            UNION ALL SELECT message_id FROM mychips.received_messages
            UNION ALL SELECT events->>0 FROM mychips.user_events WHERE events->>0 LIKE 'old%' OR events->>0 LIKE 'keep%'
            UNION ALL SELECT inviter_cuid FROM mychips.redemptions
            """, connection);
        var tags = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            tags.Add(reader.GetString(0));
        return tags;
    }

    private static async Task<long> CountAsync(ApiSite site, string sql) => (long)(await ScalarAsync(site, sql))!;

    private static async Task<object?> ScalarAsync(ApiSite site, string sql)
    {
        await using var connection = await site.OpenAsync();
        return await new NpgsqlCommand(sql, connection).ExecuteScalarAsync();
    }
}
