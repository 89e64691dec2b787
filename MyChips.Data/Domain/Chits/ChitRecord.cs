using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>A chit on one local tally half (a <c>mychips.chits</c> row), inside a <see cref="DomainTransaction"/>.</summary>
public sealed class ChitRecord
{
    public const string Tran = "tran";
    public const string Set = "set";

    internal JsonColumn RefColumn = new((string?)null);

    public long TallyId { get; internal set; }
    public Guid TallyUuid { get; internal init; }
    public Guid Uuid { get; internal init; }
    public string Type { get; internal init; } = Tran;
    public string By { get; internal init; } = TallyHalf.Stock;
    public DateTimeOffset Date { get; internal init; }
    public long? Units { get; internal init; }
    public string? Memo { get; internal init; }
    public string? Signature { get; internal set; }
    public string Status { get; internal set; } = "draft";
    public string? Request { get; internal set; }
    public byte[]? Digest { get; internal set; }
    public int? ChainIdx { get; internal set; }
    public byte[]? ChainPrev { get; internal set; }
    public byte[]? ChainDgst { get; internal set; }

    public JsonNode? Ref => RefColumn.Node;

    /// <summary>The status when the chit was loaded (null for a chit created in this transaction).</summary>
    internal string? LoadedStatus { get; set; }

    internal bool IsNew { get; set; }
    internal bool Dirty { get; set; }

    /// <summary>The amount from the holder's point of view (PROTOCOL 6.2): negative when the holder is the issuer.</summary>
    public long HolderNet(string holderType) => Type == Set || Units is not { } u ? 0 : By == holderType ? -u : u;

    internal void Touch() => Dirty = true;
}
