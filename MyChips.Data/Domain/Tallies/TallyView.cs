using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>What the user API shows of one tally half: the state code, the JSON to sign, the signatures and balances.</summary>
public sealed record TallyView(
    Guid Uuid, string Type, string State, string Status, string? Request, bool Action, int Revision, string? Memo,
    Chad? Partner, JsonObject Json, JsonObject Sign, string? Digest, long Net, long NetPending,
    int ChainIndex, int? ChainConf, JsonObject HoldSets, JsonObject PartSets, long Target, long Bound, decimal Reward, decimal Clutch)
{
    public static TallyView Of(TallyHalf h) => new(
        h.Uuid, h.Type, h.State, h.Status, h.Request, TallyState.NeedsAction(h), h.Revision, h.Memo, h.Partner,
        TallyJson.Build(h), TallyJson.Sign(h), h.Digest is null ? null : Base64Url.Encode(h.Digest), h.Net, h.NetPending,
        h.ChainLast, h.ChainConf, (JsonObject)h.HoldSets.DeepClone(), (JsonObject)h.PartSets.DeepClone(), h.Target, h.Bound, h.Reward, h.Clutch);
}
