using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>The chit JSON variants of PROTOCOL 6.2 / 3.6 (core, hashed block, wire form).</summary>
public static class ChitJson
{
    /// <summary><c>chit_json_c</c>: stripped <c>{tally, by, type, uuid, date, units, ref, memo}</c>; what the issuer signs and the chit digest covers.</summary>
    public static JsonObject Core(Guid tally, string by, string type, Guid uuid, DateTimeOffset date, long? units, JsonNode? reference, string? memo)
    {
        var core = new JsonObject
        {
            ["tally"] = tally.ToString(),
            ["by"] = by,
            ["type"] = type,
            ["uuid"] = uuid.ToString(),
            ["date"] = ChipTimestamp.ToText(date),
        };
        if (units is { } u)
            core["units"] = u;
        if (reference is not null && reference.GetValueKind() != System.Text.Json.JsonValueKind.Null)
            core["ref"] = JsonStrip.StripNulls(reference);
        if (memo is not null)
            core["memo"] = memo;
        return core;
    }

    public static JsonObject Core(ChitRecord chit) =>
        Core(chit.TallyUuid, chit.By, chit.Type, chit.Uuid, chit.Date, chit.Units, chit.Ref, chit.Memo);

    /// <summary><c>chit_json_h</c>: core plus stripped <c>{index, prior, sign}</c>, hashed into the chain.</summary>
    public static JsonObject Hashed(JsonObject core, int index, byte[]? prior, string? sign)
    {
        var block = (JsonObject)core.DeepClone();
        block["index"] = index;
        if (prior is not null)
            block["prior"] = Base64Url.Encode(prior);
        if (sign is not null)
            block["sign"] = sign;
        return block;
    }

    /// <summary><c>chit_json_r</c>: core plus stripped <c>{hash, sign}</c>, the object of <c>pend</c>/<c>void</c>/<c>good</c>.</summary>
    public static JsonObject Wire(ChitRecord chit)
    {
        var wire = Core(chit);
        if (chit.Digest is not null)
            wire["hash"] = Base64Url.Encode(chit.Digest);
        if (chit.Signature is not null)
            wire["sign"] = chit.Signature;
        return wire;
    }

    public static byte[] SignedBytes(JsonObject core) => SigningJson.SerializeToUtf8Bytes(core);

    /// <summary>The chit digest: SHA-256 of D(core).</summary>
    public static byte[] Digest(JsonObject core) => DigestJson.Hash(core, DigestNumberMode.PostgresJsonb);
}
