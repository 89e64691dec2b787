using System.Text.Json.Nodes;
using Dapper;
using MyChips.Data.Domain;

namespace MyChips.Tests.CrossSite.Properties;

/// <summary>One step of a generated run: a user action through the API, or something the network does.</summary>
public abstract record Op;

/// <summary>The user of <paramref name="By"/> pays the partner.</summary>
public sealed record Pay(Side By, long Units) : Op;

/// <summary>The user of <paramref name="By"/> invoices the partner.</summary>
public sealed record Invoice(Side By, long Units) : Op;

/// <summary>
/// The user of <paramref name="By"/> approves (pays) one of the invoices pending for them (the Pick-th, modulo); when none
/// is pending for them, the partner approves one of theirs.
/// </summary>
public sealed record Approve(Side By, int Pick) : Op;

/// <summary>The user of <paramref name="By"/> refuses one of the invoices pending for them (else the partner one of theirs).</summary>
public sealed record Refuse(Side By, int Pick) : Op;

/// <summary>A settings chit; reward and clutch are in eighths (exact in binary and decimal); <paramref name="Close"/> adds <c>close:true</c>.</summary>
public sealed record Settings(Side By, long Target, long Bound, int Reward8, int Clutch8, bool Close = false) : Op;

/// <summary>The oldest message waiting at <paramref name="From"/> for the other site arrives.</summary>
public sealed record DeliverNext(Side From) : Op;

/// <summary>The K-th waiting message (modulo) arrives first: the ones before it are delayed.</summary>
public sealed record DeliverOutOfOrder(Side From, int K) : Op;

/// <summary>A message delivered before (the K-th, modulo) arrives again with its id.</summary>
public sealed record Duplicate(Side From, int K) : Op;

/// <summary>The receipt of the next delivery from <paramref name="From"/> is lost: the row is re-sent later.</summary>
public sealed record LoseReceipt(Side From) : Op;

/// <summary>The chain resync of a site runs (the outbox sender runs it periodically).</summary>
public sealed record ChainResyncRun(Side At) : Op;

/// <summary>A generated run: the credit each side grants on a fresh tally, then the steps.</summary>
public sealed record Scenario(long StockGrants, long FoilGrants, Op[] Ops)
{
    public override string ToString() =>
        $"Scenario(stock grants {StockGrants}, foil grants {FoilGrants}, {Ops.Length} ops:\n    {string.Join(",\n    ", Ops.Select(o => o.ToString()))})";
}

/// <summary>
/// Runs one <see cref="Scenario"/> between alice@A (stock) and bob@B (foil) over a <see cref="ControlledNetwork"/>: opens a
/// fresh tally, applies the steps (checking the credit limits and ledger bounds on both sites after each), quiesces the
/// network and checks that both halves agree.
/// </summary>
public sealed class TwoSiteScenario(ControlledNetwork net)
{
    // The refusals a user may meet here; anything else (bad_signature, duplicate_id, a 5xx) fails the run.
    // invalid_state_transition: acting on a tally that a close settings chit closed.
    private static readonly string[] PayRefusals = ["limit_exceeded", "total_out_of_range", "invalid_state_transition"];
    private static readonly string[] InvoiceRefusals = ["pending_limit_reached", "total_out_of_range", "invalid_state_transition"];
    private static readonly string[] ApproveRefusals = ["limit_exceeded", "total_out_of_range", "invalid_state_transition"];
    private static readonly string[] RefuseRefusals = ["invalid_state_transition"];
    private static readonly string[] SettingsRefusals = ["invalid_field", "invalid_state_transition"];

    /// <summary>Rounds of quiescing (deliver everything both ways, resync both) before the run counts as stuck.</summary>
    public const int MaxQuiesceRounds = 20;

    /// <summary>How often each outcome happened over all runs (to see what the runs exercised).</summary>
    public SortedDictionary<string, int> Stats { get; } = [];

    private void Count(string what) => Stats[what] = Stats.GetValueOrDefault(what) + 1;

    private long _stockNet; // what the accepted user actions add up to, as the stock sees it
    private int _good;      // good chits the users' accepted actions made
    private Scenario _scenario = new(0, 0, []);

    public async Task RunAsync(Scenario scenario)
    {
        _scenario = scenario;
        _stockNet = 0;
        _good = 0;
        await net.BeginAsync();
        await OpenTallyAsync(scenario.StockGrants, scenario.FoilGrants);
        await CheckBoundsAsync("after opening");
        var step = 0;
        foreach (var op in scenario.Ops)
        {
            step++;
            net.Log.Add($"{step}. {op}");
            await ApplyAsync(op);
            await CheckBoundsAsync($"after step {step} ({op})");
        }

        net.Log.Add("quiesce");
        await QuiesceAsync();
        await CheckBoundsAsync("after quiescing");
        await CheckAgreeAsync();
    }

    /// <summary>alice drafts and invites, bob redeems; the ticket, the offer, the open and its ack 0 cross the network in order.</summary>
    public async Task OpenTallyAsync(long stockGrants, long foilGrants)
    {
        var alice = net.A.User;
        var bob = net.B.User;
        var draft = await alice.PostAsync("/api/tallies", new
        {
            type = "stock", memo = "property run",
            holdTerms = new JsonObject { ["limit"] = stockGrants, ["call"] = 30 },
            partTerms = new JsonObject { ["limit"] = foilGrants },
        });
        var tally = Guid.Parse((string)draft["uuid"]!);
        net.Use(tally);
        var invitation = await alice.PostAsync($"/api/tallies/{tally}/invite");
        await bob.PostAsync("/api/invitations/redeem", new { token = (string)invitation["token"]!, chad = invitation["chad"] });
        Assert.True(await net.DeliverAsync(Side.B, tickets: true), "bob's site queued the ticket");
        var pdraft = await alice.GetAsync($"/api/tallies/{tally}");
        Assert.Equal("P.draft", (string)pdraft["state"]!);
        await alice.PostAsync($"/api/tallies/{tally}/offer", new { signature = alice.SignTally((JsonObject)pdraft["json"]!) });
        Assert.True(await net.DeliverAsync(Side.A), "alice's site queued the offer");
        var offered = await bob.GetAsync($"/api/tallies/{tally}");
        Assert.Equal("P.offer", (string)offered["state"]!);
        await bob.PostAsync($"/api/tallies/{tally}/accept", new { signature = bob.SignTally((JsonObject)offered["json"]!) });
        Assert.True(await net.DeliverAsync(Side.B), "bob's site queued the open");
        Assert.True(await net.DeliverAsync(Side.A), "alice's site answered the open with ack 0");
        Assert.Equal(0, await net.PendingCountAsync());
        var a = (await net.A.Database.HalfAsync(tally))!;
        var b = (await net.B.Database.HalfAsync(tally))!;
        Assert.Equal(("open", 0, 0), (a.Status, a.ChainLast, a.ChainConf ?? -1));
        Assert.Equal(("open", 0, 0), (b.Status, b.ChainLast, b.ChainConf ?? -1));
        net.Log.Add($"tally {tally} open: stock grants {stockGrants}, foil grants {foilGrants}");
    }

    public async Task ApplyAsync(Op op)
    {
        var tally = net.Tally;
        switch (op)
        {
            case Pay(var by, var units):
            {
                var site = net.Of(by);
                var (ok, _, code) = await ControlledNetwork.ApiAsync(site.User, $"/api/tallies/{tally}/pay", site.User.Payment(tally, site.Type, units), PayRefusals);
                net.Log.Add($"  -> {(ok ? "paid" : code)}");
                Count($"pay: {(ok ? "paid" : code)}");
                if (ok)
                    Paid(by, units);
                break;
            }

            case Invoice(var by, var units):
            {
                var site = net.Of(by);
                var (ok, _, code) = await ControlledNetwork.ApiAsync(site.User, $"/api/tallies/{tally}/invoice", new { uuid = Guid.NewGuid(), units, memo = "invoice" }, InvoiceRefusals);
                net.Log.Add($"  -> {(ok ? "invoiced" : code)}");
                Count($"invoice: {(ok ? "invoiced" : code)}");
                break;
            }

            case Approve(var prefer, var pick):
            {
                var by = (await PendingForAsync(prefer)).Count > 0 ? prefer : ControlledNetwork.Other(prefer);
                var site = net.Of(by);
                if (await PendingForAsync(by) is not { Count: > 0 } pending)
                {
                    net.Log.Add("  -> nothing to approve");
                    Count("approve: nothing pending");
                    break;
                }

                var view = pending[pick % pending.Count]!;
                var (ok, _, code) = await ControlledNetwork.ApiAsync(site.User, $"/api/tallies/{tally}/chits/{(string)view["uuid"]!}/approve",
                    new { signature = ControlledNetwork.SignShown(site.User, tally, view) }, ApproveRefusals);
                net.Log.Add($"  -> {(ok ? "approved" : code)} {((string)view["uuid"]!)[..8]} {(long)view["units"]!}");
                Count($"approve: {(ok ? "approved" : code)}");
                if (ok)
                    Paid(by, (long)view["units"]!);
                break;
            }

            case Refuse(var prefer, var pick):
            {
                var by = (await PendingForAsync(prefer)).Count > 0 ? prefer : ControlledNetwork.Other(prefer);
                var site = net.Of(by);
                if (await PendingForAsync(by) is not { Count: > 0 } pending)
                {
                    net.Log.Add("  -> nothing to refuse");
                    Count("refuse: nothing pending");
                    break;
                }

                var view = pending[pick % pending.Count]!;
                var (ok, _, code) = await ControlledNetwork.ApiAsync(site.User, $"/api/tallies/{tally}/chits/{(string)view["uuid"]!}/refuse", null, RefuseRefusals);
                net.Log.Add($"  -> {(ok ? "refused" : code)} {((string)view["uuid"]!)[..8]}");
                Count($"refuse: {(ok ? "refused" : code)}");
                break;
            }

            case Settings(var by, var target, var bound, var reward8, var clutch8, var close):
            {
                var site = net.Of(by);
                var settings = new JsonObject { ["target"] = target, ["bound"] = bound, ["reward"] = reward8 / 8.0, ["clutch"] = clutch8 / 8.0 };
                if (close)
                    settings["close"] = true;
                var (ok, _, code) = await ControlledNetwork.ApiAsync(site.User, $"/api/tallies/{tally}/settings", site.User.Settings(tally, site.Type, settings), SettingsRefusals);
                net.Log.Add($"  -> {(ok ? "set" : code)}");
                Count($"settings: {(ok ? "set" : code)}");
                if (ok)
                    _good++;
                break;
            }

            case DeliverNext(var from):
                if (!await net.DeliverAsync(from))
                    net.Log.Add("  -> nothing waiting");
                break;

            case DeliverOutOfOrder(var from, var k):
                if (!await net.DeliverAsync(from, k))
                    net.Log.Add("  -> nothing waiting");
                break;

            case Duplicate(var from, var k):
                if (!await net.DuplicateAsync(from, k))
                    net.Log.Add("  -> nothing delivered yet");
                break;

            case LoseReceipt(var from):
                net.LoseNextReceipt(from);
                break;

            case ChainResyncRun(var at):
                await net.ResyncAsync(at);
                break;

            default:
                throw new InvalidOperationException($"unknown op {op}");
        }
    }

    private void Paid(Side by, long units)
    {
        _stockNet += by == Side.A ? -units : units;
        _good++;
    }

    private async Task<List<JsonNode?>> PendingForAsync(Side by) =>
        (await net.Of(by).User.ListAsync($"/api/tallies/{net.Tally}/chits")).Where(c => (string?)c!["state"] == "L.pend").ToList();

    /// <summary>
    /// Delivers everything waiting, both ways, in order and with receipts; then, if a chain is still unconfirmed, runs the
    /// resync of both sites; until nothing is waiting and both chains are confirmed to their ends.
    /// </summary>
    public async Task QuiesceAsync()
    {
        for (var round = 0; round < MaxQuiesceRounds; round++)
        {
            var delivered = 0;
            for (var guard = 0; guard < 1000; guard++)
            {
                var any = false;
                foreach (var from in new[] { Side.A, Side.B })
                {
                    if (await net.DeliverAsync(from))
                    {
                        any = true;
                        delivered++;
                    }
                }

                if (!any)
                    break;
            }

            Assert.Equal(0, await net.PendingCountAsync());
            var a = (await net.A.Database.HalfAsync(net.Tally))!;
            var b = (await net.B.Database.HalfAsync(net.Tally))!;
            if (a.ChainConf == a.ChainLast && b.ChainConf == b.ChainLast)
                return;
            var nudged = await net.ResyncAsync(Side.A) + await net.ResyncAsync(Side.B);
            Assert.True(nudged > 0 || delivered > 0,
                $"not quiescent and stuck: A chain {a.ChainConf}/{a.ChainLast}, B chain {b.ChainConf}/{b.ChainLast}, nothing waiting and no resync\n{Trace()}");
        }

        Assert.Fail($"not quiescent after {MaxQuiesceRounds} rounds\n{Trace()}");
    }

    /// <summary>Neither half's balance is beyond the credit granted; pending totals and counts are within the ledger bounds.</summary>
    public async Task CheckBoundsAsync(string when)
    {
        foreach (var side in new[] { Side.A, Side.B })
        {
            await using var connection = await net.Of(side).Database.OpenAsync();
            var (type, netUnits, pending, chits) = await connection.QuerySingleAsync<(string, long, long, int)>(
                "SELECT tally_type, net, net_pending, pending_chits FROM mychips.tallies WHERE tally_uuid = @tally", new { tally = net.Tally });
            var stockNet = type == "stock" ? netUnits : -netUnits;
            Assert.True(stockNet <= _scenario.StockGrants && stockNet >= -_scenario.FoilGrants,
                $"{when}: site {side} ({type}) holds the stock's net at {stockNet}, outside [-{_scenario.FoilGrants}, {_scenario.StockGrants}]\n{Trace()}");
            Assert.True(pending is >= -LedgerBounds.MaxTotal and <= LedgerBounds.MaxTotal, $"{when}: site {side} pending net {pending}\n{Trace()}");
            Assert.True(chits is >= 0 and <= LedgerBounds.MaxPendingChits, $"{when}: site {side} pending chits {chits}\n{Trace()}");
        }
    }

    /// <summary>Both halves agree: balances, pending totals, every chit's state, and the hash chains block by block.</summary>
    public async Task CheckAgreeAsync()
    {
        var tally = net.Tally;
        var a = (await net.A.Database.HalfAsync(tally))!;
        var b = (await net.B.Database.HalfAsync(tally))!;
        var trace = Trace();
        Assert.True(a.Net + b.Net == 0, $"nets {a.Net} and {b.Net} are not equal and opposite\n{trace}");
        Assert.True(a.Net == _stockNet, $"the stock's net is {a.Net}; the accepted payments add up to {_stockNet}\n{trace}");
        Assert.True(a.Good == _good && b.Good == _good, $"good chits: A {a.Good}, B {b.Good}, accepted {_good}\n{trace}");
        Assert.True(a.ChainLast == _good && b.ChainLast == _good && a.Unlinked == 0 && b.Unlinked == 0,
            $"chains: A {a.ChainLast} ({a.Unlinked} unlinked), B {b.ChainLast} ({b.Unlinked} unlinked), {_good} good\n{trace}");
        Assert.True(a.ChainConf == a.ChainLast && b.ChainConf == b.ChainLast, $"chain_conf A {a.ChainConf}/{a.ChainLast}, B {b.ChainConf}/{b.ChainLast}\n{trace}");
        Assert.True(a.ChainHash.AsSpan().SequenceEqual(b.ChainHash), $"chain heads differ\n{trace}");

        var chitsA = await ChitsAsync(net.A);
        var chitsB = await ChitsAsync(net.B);
        Assert.True(chitsA.Keys.ToHashSet().SetEquals(chitsB.Keys),
            $"chits only on A: {string.Join(", ", chitsA.Keys.Except(chitsB.Keys))}; only on B: {string.Join(", ", chitsB.Keys.Except(chitsA.Keys))}\n{trace}");
        foreach (var (uuid, x) in chitsA)
        {
            var y = chitsB[uuid];
            // A.good <-> L.good, A.pend <-> L.pend, A.void <-> L.void: the same status and issuer on both halves.
            Assert.True(x == y, $"chit {uuid}: A holds {x}, B holds {y}\n{trace}");
            Assert.True(x.Type != "set" || x.Status == "good", $"settings chit {uuid} is {x.Status}\n{trace}");
            Assert.True(x.Request is null, $"chit {uuid} has a request {x.Request}\n{trace}");
        }

        await using (var ca = await net.A.Database.OpenAsync())
        await using (var cb = await net.B.Database.OpenAsync())
        {
            const string sql = "SELECT net_pending, pending_chits FROM mychips.tallies WHERE tally_uuid = @tally";
            var pa = await ca.QuerySingleAsync<(long, int)>(sql, new { tally });
            var pb = await cb.QuerySingleAsync<(long, int)>(sql, new { tally });
            Assert.True(pa.Item1 + pb.Item1 == 0 && pa.Item2 == pb.Item2, $"pending: A {pa}, B {pb}\n{trace}");
            Assert.True(pa.Item2 == chitsA.Values.Count(c => c.Status == "pend"), $"pending_chits {pa.Item2} is not the number of pend chits\n{trace}");
        }

        var va = await net.A.Database.VerifyChainAsync(tally, "stock");
        var vb = await net.B.Database.VerifyChainAsync(tally, "foil");
        Assert.True(va.Valid, $"A's chain: {va.Problem}\n{trace}");
        Assert.True(vb.Valid, $"B's chain: {vb.Problem}\n{trace}");
        Assert.True(va.Head.AsSpan().SequenceEqual(vb.Head), $"verified heads differ\n{trace}");
        await CrossSiteTally.AssertAgreeAsync(net.A.Database, net.B.Database, tally, _stockNet);
    }

    private async Task<Dictionary<Guid, ChitRow>> ChitsAsync(ControlledSite site)
    {
        await using var connection = await site.Database.OpenAsync();
        var rows = await connection.QueryAsync<(Guid, string, string, string, long?, string?)>(
            """
            SELECT c.chit_uuid, c.chit_type, c.issuer, c.status, c.units, c.request FROM mychips.chits c JOIN mychips.tallies t USING (tally_id)
            WHERE t.tally_uuid = @tally
            """, new { tally = net.Tally });
        return rows.ToDictionary(r => r.Item1, r => new ChitRow(r.Item2, r.Item3, r.Item4, r.Item5, r.Item6));
    }

    private string Trace() => $"{_scenario}\ntrace:\n{string.Join('\n', net.Log)}";

    private sealed record ChitRow(string Type, string By, string Status, long? Units, string? Request);
}
