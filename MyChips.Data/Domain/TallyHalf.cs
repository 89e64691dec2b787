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

    internal static long TermsLimit(JsonObject terms) =>
        terms["limit"] is JsonValue v && v.TryGetValue<long>(out var limit) ? limit : 0;

    internal void Touch() => Dirty = true;
}
