using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>The events pushed to a user (docs/api.md, WebSocket): small, the client reads details from the API.</summary>
public static class UserEvents
{
    public static void Tally(DomainTransaction tx, TallyHalf half) => tx.Emit(half.UserId, new JsonObject
    {
        ["type"] = "tally",
        ["tally"] = half.Uuid.ToString(),
        ["state"] = half.State,
        ["action"] = TallyState.NeedsAction(half),
    });

    public static void Chit(DomainTransaction tx, TallyHalf half, ChitRecord chit)
    {
        tx.Emit(half.UserId, new JsonObject
        {
            ["type"] = "chit",
            ["tally"] = half.Uuid.ToString(),
            ["chit"] = chit.Uuid.ToString(),
            ["chitType"] = chit.Type,
            ["state"] = ChitState.Code(chit, half.Type),
            ["units"] = chit.Units,
            ["net"] = chit.HolderNet(half.Type),
        });
        if (chit.Type != ChitRecord.Set)
        {
            tx.Emit(half.UserId, new JsonObject
            {
                ["type"] = "balance",
                ["tally"] = half.Uuid.ToString(),
                ["net"] = half.Net,
                ["netPending"] = half.NetPending,
            });
        }
    }
}
