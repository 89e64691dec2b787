using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MyChips.Data;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;
using MyChips.Tests.Api;

namespace MyChips.Tests.CrossSite.Properties;

/// <summary>One of the two sites: alice@A holds the stock, bob@B the foil.</summary>
public enum Side
{
    A,
    B,
}

/// <summary>
/// A site whose peer side is off (<c>Peer:Enabled=false</c>: no listener, no outbox sender), so its messages for the other
/// site wait in <c>mychips.outbox</c> until the test carries them. The receive path is the site's own
/// <see cref="PeerInbox"/>, built from the site's services as the server builds it when peers are on.
/// </summary>
public sealed class ControlledSite : IAsyncDisposable
{
    private ControlledSite(ApiSite site, string agent, ApiUser user, string type)
    {
        Site = site;
        Agent = agent;
        User = user;
        Type = type;
        var services = site.App.Services;
        var transactions = services.GetRequiredService<SiteTransactions>();
        var runner = services.GetRequiredService<DomainRunner>();
        var router = services.GetRequiredService<MessageRouter>();
        Inbox = new PeerInbox(runner, services.GetRequiredService<MessageReceiver>(), router, transactions);
        Outbox = new OutboxStore(transactions);
        Resync = new ChainResync(runner, services.GetRequiredService<ChainConsensus>(), router, transactions);
        Database = new SiteDatabase(site.ConnectionString);
    }

    public ApiSite Site { get; }

    public string Agent { get; }

    public ApiUser User { get; }

    /// <summary>The side of the tally this site's user holds.</summary>
    public string Type { get; }

    public PeerInbox Inbox { get; }

    public OutboxStore Outbox { get; }

    public ChainResync Resync { get; }

    public SiteDatabase Database { get; }

    public static async Task<ControlledSite> StartAsync(Infrastructure.PostgresServer server, string name, string cuid, string type)
    {
        // One redeem per run opens its tally: the per-user redeem limit would cut a run set short.
        var site = await ApiSite.StartAsync(server, name, new Dictionary<string, string?> { ["Peer:Enabled"] = "false", ["RateLimit:RedeemPerMinute"] = "100000" });
        var agent = (await site.App.Services.GetRequiredService<SiteAgents>().GetAsync(CancellationToken.None)).Id;
        var user = await site.AddUserAsync(cuid);
        return new ControlledSite(site, agent, user, type);
    }

    public async ValueTask DisposeAsync()
    {
        User.Dispose();
        await Site.DisposeAsync();
    }
}

/// <summary>
/// The network between the two sites, under the test's control: it reads a site's pending outbox rows, stamps each with
/// its key as envelope <c>id</c> (as MyChips.Server/Peer/OutboxSender does) and hands it to the other site's inbox, in
/// the order the test says; a delivered row gets its receipt (<see cref="OutboxStore.ReceiptsAsync"/>) unless the test
/// loses it, in which case the row stays pending and is sent again later (a duplicate the inbox must ignore).
/// Messages about other tallies (left pending by an earlier, failed run) are set aside, so one run cannot disturb the next.
/// </summary>
public sealed class ControlledNetwork(ControlledSite a, ControlledSite b)
{
    private readonly Dictionary<Side, List<JsonObject>> _delivered = new() { [Side.A] = [], [Side.B] = [] };
    private readonly Dictionary<Side, bool> _loseReceipt = new() { [Side.A] = false, [Side.B] = false };

    public ControlledSite A { get; } = a;

    /// <summary>Deliveries by kind and outcome over all runs.</summary>
    public SortedDictionary<string, int> Stats { get; } = [];

    public ControlledSite B { get; } = b;

    /// <summary>The tally the current run is about (rows of other tallies are never delivered).</summary>
    public Guid Tally { get; private set; }

    /// <summary>What happened, for the failure message.</summary>
    public List<string> Log { get; } = [];

    public ControlledSite Of(Side side) => side == Side.A ? A : B;

    public static Side Other(Side side) => side == Side.A ? Side.B : Side.A;

    /// <summary>Starts a run on a fresh tally: forgets the traffic of the last run and sets aside whatever it left pending.</summary>
    public async Task BeginAsync()
    {
        Tally = Guid.Empty;
        _delivered[Side.A].Clear();
        _delivered[Side.B].Clear();
        _loseReceipt[Side.A] = false;
        _loseReceipt[Side.B] = false;
        Log.Clear();
        await SetAsideForeignAsync(A, includeTickets: true);
        await SetAsideForeignAsync(B, includeTickets: true);
    }

    public void Use(Guid tally) => Tally = tally;

    /// <summary>The rows <paramref name="from"/> has waiting for the other site, in outbox order.</summary>
    public async Task<List<(long Id, string Key, JsonObject Message)>> PendingAsync(Side from, bool tickets = false)
    {
        await using var connection = await Of(from).Database.OpenAsync();
        var rows = await connection.QueryAsync<(long, string, string)>(
            """
            SELECT outbox_id, idempotency_key, message::text FROM mychips.outbox
            WHERE sent_at IS NULL AND gave_up_at IS NULL AND peer_agent = @peer
              AND (tally_uuid = @tally OR (@tickets AND tally_uuid IS NULL AND message->>'action' = 'ticket'))
            ORDER BY outbox_id
            """, new { peer = Of(Other(from)).Agent, tally = Tally, tickets });
        return rows.Select(r => (r.Item1, r.Item2, (JsonObject)JsonNode.Parse(r.Item3)!)).ToList();
    }

    public async Task<int> PendingCountAsync() => (await PendingAsync(Side.A)).Count + (await PendingAsync(Side.B)).Count;

    /// <summary>The next delivery from <paramref name="from"/> is applied but its receipt never reaches the sender.</summary>
    public void LoseNextReceipt(Side from)
    {
        _loseReceipt[from] = true;
        Log.Add($"  receipt of the next {from}->{Other(from)} delivery will be lost");
    }

    /// <summary>
    /// Delivers the <paramref name="k"/>-th pending row (modulo how many there are) from <paramref name="from"/>; false
    /// when nothing is pending. Honest traffic is never refused: a refusal fails the test.
    /// </summary>
    public async Task<bool> DeliverAsync(Side from, int k = 0, bool tickets = false)
    {
        var pending = await PendingAsync(from, tickets);
        if (pending.Count == 0)
            return false;
        var (_, key, message) = pending[k % pending.Count];
        await DeliverAsync(from, key, message);
        return true;
    }

    public async Task<PeerInboxResult> DeliverAsync(Side from, string key, JsonObject message)
    {
        var to = Of(Other(from));
        message[PeerInbox.IdMember] = key;
        var result = await to.Inbox.ReceiveAsync(Of(from).Agent, (JsonObject)message.DeepClone(), CancellationToken.None);
        Log.Add($"  {from}->{Other(from)} {Describe(message)}: {result.Outcome}{(result.Notes is { Count: > 0 } n ? " (" + string.Join("; ", n) + ")" : "")}");
        Assert.True(result.Outcome != PeerInboxOutcome.Rejected,
            $"site {Other(from)} refused an honest message {Describe(message)}: {result.Reason} ({result.Detail})\n{string.Join('\n', Log)}");
        _delivered[from].Add((JsonObject)message.DeepClone());
        Count($"delivered {Kind(message)}: {result.Outcome}{(result.Notes is { Count: > 0 } ? " (context guard ignored it)" : "")}");
        if (_loseReceipt[from])
        {
            _loseReceipt[from] = false;
            return result;
        }

        await Of(from).Outbox.ReceiptsAsync([new OutboxReceipt(to.Agent, key, null)], CancellationToken.None);
        return result;
    }

    /// <summary>Delivers an already delivered message again (same id): it must change nothing on the receiver.</summary>
    public async Task<bool> DuplicateAsync(Side from, int k)
    {
        var sent = _delivered[from];
        if (sent.Count == 0)
            return false;
        var message = sent[k % sent.Count];
        var to = Of(Other(from));
        var before = await to.Database.SnapshotAsync();
        var result = await to.Inbox.ReceiveAsync(Of(from).Agent, (JsonObject)message.DeepClone(), CancellationToken.None);
        Log.Add($"  {from}->{Other(from)} again {Describe(message)}: {result.Outcome}");
        Count($"duplicate {Kind(message)}");
        Assert.True(result.Outcome == PeerInboxOutcome.Duplicate, $"a repeated id {(string?)message[PeerInbox.IdMember]} was {result.Outcome}: {result.Reason}\n{string.Join('\n', Log)}");
        Assert.Equal(before, await to.Database.SnapshotAsync());
        return true;
    }

    /// <summary>The chain resync of <paramref name="at"/>, as the outbox sender runs it (here without the quiet time); returns how many tallies it nudged.</summary>
    public async Task<int> ResyncAsync(Side at)
    {
        var site = Of(at);
        // Rows of earlier runs' tallies would hold back the nudge (it waits for an empty queue to the partner).
        await SetAsideForeignAsync(site, includeTickets: false);
        var nudged = await site.Resync.RunAsync(TimeSpan.Zero, 100, CancellationToken.None);
        Log.Add($"  resync on {at}: {nudged} nudged");
        Count($"resync on {at}: {(nudged > 0 ? "nudged" : "nothing to do")}");
        return nudged;
    }

    // Not delivered, not given up (no delivery_failed): withdrawn, as if answered.
    private async Task SetAsideForeignAsync(ControlledSite site, bool includeTickets)
    {
        await using var connection = await site.Database.OpenAsync();
        await connection.ExecuteAsync(
            """
            UPDATE mychips.outbox SET sent_at = now(), settled_by = 'withdrawn', last_error = 'set aside by the property test: not the tally of this run'
            WHERE sent_at IS NULL AND gave_up_at IS NULL AND tally_uuid IS DISTINCT FROM @tally
              AND (@includeTickets OR tally_uuid IS NOT NULL)
            """, new { tally = Tally, includeTickets });
    }

    private void Count(string what) => Stats[what] = Stats.GetValueOrDefault(what) + 1;

    private static string Kind(JsonObject message) =>
        $"{(string?)message["target"]}/{(string?)message["action"]}{((string?)message["action"] == "chain" ? ":" + (string?)message["object"]?["cmd"] : "")}";

    public static string Describe(JsonObject message)
    {
        var obj = message["object"];
        var what = $"{(string?)message["target"]}/{(string?)message["action"]}";
        if ((string?)message["action"] == "chain")
            what += $":{(string?)obj?["cmd"]}({(int?)obj?["index"]}{(obj?["chits"] is JsonArray list ? $", {list.Count} chits" : "")})";
        else if ((string?)message["target"] == "chit")
            what += $" {((string?)obj?["uuid"])?[..8]} {(string?)obj?["by"]} {(long?)obj?["units"]}{(obj?["chain"] is JsonObject c ? $" new({(int?)c["index"]})" : "")}";
        return what;
    }

    /// <summary>Sends an API request as the user's app; a refusal must be a 4xx with a stable code, never a 5xx.</summary>
    public static async Task<(bool Ok, JsonObject Body, string? Code)> ApiAsync(ApiUser user, string path, object? body, string[] allowedRefusals)
    {
        var (status, json) = await user.SendAsync(HttpMethod.Post, path, body ?? new { });
        var code = (int)status;
        if (code is >= 200 and < 300)
            return (true, json, null);
        Assert.True(code is >= 400 and < 500, $"POST {path} answered {code}: {json.ToJsonString()}");
        var error = (string?)json["error"]?["code"];
        Assert.True(error is not null && allowedRefusals.Contains(error), $"POST {path} answered {code} with an unexpected code: {json.ToJsonString()}");
        return (false, json, error);
    }

    /// <summary>The core of a chit as shown to the user, signed (to approve an invoice).</summary>
    public static string SignShown(ApiUser user, Guid tally, JsonNode view) =>
        user.Sign(ChitJson.SignedBytes(ChitJson.Core(tally, (string)view["by"]!, (string)view["type"]!, Guid.Parse((string)view["uuid"]!),
            ChipTimestamp.Parse((string)view["date"]!), (long?)view["units"], view["ref"], (string?)view["memo"])));
}
