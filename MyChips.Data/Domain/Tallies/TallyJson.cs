using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// The tally JSON both partners sign and the digest covers (PROTOCOL 6.1, <c>tally_json</c>):
/// <c>{version, revision, uuid, date, memo, agree, stock:{cert, terms}, foil:{cert, terms}}</c>, nulls kept.
/// </summary>
public static class TallyJson
{
    public static JsonObject Build(TallyHalf half)
    {
        var hold = new JsonObject { ["cert"] = half.HoldCertColumn.Clone(), ["terms"] = half.HoldTermsColumn.Clone() };
        var part = new JsonObject { ["cert"] = half.PartCertColumn.Clone(), ["terms"] = half.PartTermsColumn.Clone() };
        return new JsonObject
        {
            ["version"] = half.Version,
            ["revision"] = half.Revision,
            ["uuid"] = half.Uuid.ToString(),
            ["date"] = ChipTimestamp.ToText(half.Date),
            ["memo"] = half.Memo,
            ["agree"] = half.AgreeColumn.Clone(),
            ["stock"] = half.Type == TallyHalf.Stock ? hold : part,
            ["foil"] = half.Type == TallyHalf.Stock ? part : hold,
        };
    }

    /// <summary>The <c>sign</c> member of the wire form: <c>{hash, stock, foil}</c>, nulls kept.</summary>
    public static JsonObject Sign(TallyHalf half) => new()
    {
        ["hash"] = half.Digest is null ? null : Base64Url.Encode(half.Digest),
        ["stock"] = half.Type == TallyHalf.Stock ? half.HoldSig : half.PartSig,
        ["foil"] = half.Type == TallyHalf.Stock ? half.PartSig : half.HoldSig,
    };

    /// <summary>The wire form sent in <c>offer</c>/<c>open</c>: the tally JSON plus <c>sign</c>.</summary>
    public static JsonObject WithSign(TallyHalf half)
    {
        var json = Build(half);
        json["sign"] = Sign(half);
        return json;
    }

    /// <summary>The bytes each partner signs: S(tally JSON without sign).</summary>
    public static byte[] SignedBytes(JsonObject tallyJson) => SigningJson.SerializeToUtf8Bytes(tallyJson);

    /// <summary>The tally digest, block 0 of the chain: SHA-256 of D(tally JSON), numbers as jsonb prints them.</summary>
    public static byte[] Digest(JsonObject tallyJson) => DigestJson.Hash(tallyJson, DigestNumberMode.PostgresJsonb);
}
