using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>What the user API shows of one chit on the caller's half: its state, core fields, signature and chain block.</summary>
public sealed record ChitView(
    Guid Uuid, Guid Tally, string Type, string By, string State, string Status, string? Request, string Date, long? Units,
    long Net, JsonNode? Ref, string? Memo, string? Sign, string? Hash, ChainBlockView? Chain)
{
    public static ChitView Of(ChitRecord c, string holderType) => new(
        c.Uuid, c.TallyUuid, c.Type, c.By, ChitState.Code(c, holderType), c.Status, c.Request, ChipTimestamp.ToText(c.Date), c.Units,
        c.HolderNet(holderType), c.Ref?.DeepClone(), c.Memo, c.Signature, c.Digest is null ? null : Base64Url.Encode(c.Digest),
        c.ChainIdx is { } i ? new ChainBlockView(i, Base64Url.Encode(c.ChainPrev!), Base64Url.Encode(c.ChainDgst!)) : null);
}

/// <summary>A chit's place in the chain: index, prior block hash, own block hash (b64v).</summary>
public sealed record ChainBlockView(int Index, string Prior, string Hash);
