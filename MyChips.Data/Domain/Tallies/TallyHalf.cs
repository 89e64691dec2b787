using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>
/// One local half of a tally (a <c>mychips.tallies</c> row) as loaded, locked, inside a <see cref="DomainTransaction"/>.
/// Mutations mark it dirty; the transaction writes it back once, at the end.
/// </summary>
public sealed class TallyHalf
{
    public const string Stock = "stock";
    public const string Foil = "foil";

    internal JsonColumn AgreeColumn = new((string?)null);
    internal JsonColumn HoldCertColumn = new((string?)null);
    internal JsonColumn PartCertColumn = new((string?)null);
    internal JsonColumn HoldTermsColumn = new("{}");
    internal JsonColumn PartTermsColumn = new("{}");
    internal JsonColumn HoldSetsColumn = new("{}");
    internal JsonColumn PartSetsColumn = new("{}");

    public long TallyId { get; internal set; }
    public long UserId { get; internal init; }
    public string HoldCuid { get; internal init; } = "";
    public Guid Uuid { get; internal init; }
    public string Type { get; internal init; } = Stock;
    public int Version { get; internal set; } = 1;
    public int Revision { get; internal set; } = 1;
    public DateTimeOffset Date
    {
        get => _date;
        internal set
        {
            _date = value;
            DateChanged = true;
        }
    }

    private DateTimeOffset _date;

    internal bool DateChanged { get; set; }
    public string? Memo { get; internal set; }
    public string? HoldSig { get; internal set; }
    public string? PartSig { get; internal set; }
    public string? PartCuid { get; internal set; }
    public string? PartAgent { get; internal set; }
    public string Status { get; internal set; } = "draft";
    public string? Request { get; internal set; }
    public byte[]? Digest { get; internal set; }
    public int? ChainConf { get; internal set; }
    public int ChainLast { get; internal set; }
    public byte[]? ChainHash { get; internal set; }
    public long Target { get; internal set; }
    public long Bound { get; internal set; }
    public decimal Reward { get; internal set; }
    public decimal Clutch { get; internal set; }
    public long Net { get; internal set; }
    public long NetPending { get; internal set; }

    /// <summary>Chits pending on this half (invoices sent or received, not yet paid or refused).</summary>
    public int PendingChits { get; internal set; }

    /// <summary>The state code when the half was loaded (null for a half created in this transaction).</summary>
    internal string? LoadedState { get; set; }

    internal bool IsNew { get; set; }
    internal bool Dirty { get; set; }

    public string PartnerType => Type == Stock ? Foil : Stock;

    public JsonNode? Agree => AgreeColumn.Node;
    public JsonObject HoldCert => (JsonObject)HoldCertColumn.Node!;
    public JsonObject? PartCert => PartCertColumn.Node as JsonObject;
    public JsonObject HoldTerms => (JsonObject)HoldTermsColumn.Node!;
    public JsonObject PartTerms => (JsonObject)PartTermsColumn.Node!;
    public JsonObject HoldSets => (JsonObject)HoldSetsColumn.Node!;
    public JsonObject PartSets => (JsonObject)PartSetsColumn.Node!;

    /// <summary>The state code <c>[phase.]status[.request]</c> (PROTOCOL 7.1, 7.2).</summary>
    public string State => TallyState.Code(this);

    /// <summary>The partner's CHIP address, once their certificate is attached.</summary>
    public Chad? Partner => PartCuid is null || PartAgent is null ? null : new Chad(PartCuid, PartAgent,
        Chad.FromJson(PartCert?["chad"])?.Host, Chad.FromJson(PartCert?["chad"])?.Port);

    public Chad Holder => Chad.FromJson(HoldCert["chad"]) ?? throw new InvalidOperationException("The holder certificate has no chad.");

    /// <summary>The credit the partner grants us (their terms' <c>limit</c>, 0 when absent): how far below zero our net may go.</summary>
    public long PartnerLimit => TermsLimit(PartTerms);

    /// <summary>The credit we grant the partner (our terms' <c>limit</c>, 0 when absent): how far above zero our net may go.</summary>
    public long HoldLimit => TermsLimit(HoldTerms);

    /// <summary>
    /// Checks that a payment stays within the credit the two sides granted each other (the same terms bind a local payment
    /// and one received from the partner's site): our own payment may take our net down to minus the partner's limit, the
    /// partner's up to our limit. Settings chits move no value.
    /// </summary>
    internal void EnsureCredit(ChitRecord chit)
    {
        if (chit.Type != ChitRecord.Tran)
            return;
        var after = Net + chit.HolderNet(Type);
        if (chit.By == Type && after < -PartnerLimit)
            throw DomainErrors.LimitExceeded(PartnerLimit);
        if (chit.By != Type && after > HoldLimit)
            throw DomainErrors.PartnerLimitExceeded(HoldLimit);
    }

    /// <summary>A chit became pending on this half: counted, and its amount added to the pending net (both bounded).</summary>
    internal void AddPending(ChitRecord chit)
    {
        if (PendingChits >= LedgerBounds.MaxPendingChits)
            throw DomainErrors.PendingLimitReached(LedgerBounds.MaxPendingChits);
        NetPending = LedgerBounds.Add(NetPending, chit.HolderNet(Type), "pending balance");
        PendingChits++;
        Touch();
    }

    /// <summary>A pending chit was refused or withdrawn: its amount leaves the pending net.</summary>
    internal void RemovePending(ChitRecord chit)
    {
        NetPending -= chit.HolderNet(Type);
        PendingChits--;
        Touch();
    }

    /// <summary>A chit became good: its amount moves the net (and the pending net, unless it was pending already).</summary>
    internal void Settle(ChitRecord chit, bool wasPending)
    {
        var amount = chit.HolderNet(Type);
        var net = LedgerBounds.Add(Net, amount, "balance");
        if (wasPending)
            PendingChits--;
        else
            NetPending = LedgerBounds.Add(NetPending, amount, "pending balance");
        Net = net;
        Touch();
    }

    internal static long TermsLimit(JsonObject terms) =>
        terms["limit"] is JsonValue v && v.TryGetValue<long>(out var limit) ? limit : 0;

    internal void Touch() => Dirty = true;
}
