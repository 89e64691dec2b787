using System.Text.Json.Nodes;
using MyChips.Data.Crypto;
using MyChips.Data.Domain;

namespace MyChips.Tests.Domain;

/// <summary>The per-half hash chain (PROTOCOL 6.4): block 0 = tally digest, each block hashes core + index + prior + sign.</summary>
public sealed class HashChainTests
{
    private static readonly Guid Tally = Guid.Parse("ab5ab469-56af-4439-b9d5-caf843e7e1b3");
    private static readonly byte[] TallyDigest = DigestJson.Hash(new JsonObject { ["uuid"] = Tally.ToString() });

    [Fact]
    public void A_chain_built_block_by_block_verifies_and_its_head_is_the_last_hash()
    {
        var blocks = Build(3);
        var result = HashChain.Verify(Tally, TallyDigest, blocks);
        Assert.True(result.Valid, result.Problem);
        Assert.Equal(3, result.Length);
        Assert.Equal(blocks[^1].Hash, result.Head);
    }

    [Fact]
    public void A_changed_amount_a_broken_link_or_a_reordered_chain_is_detected()
    {
        var blocks = Build(3);
        var tampered = blocks.ToList();
        tampered[1] = tampered[1] with { Units = tampered[1].Units + 1 };
        Assert.Contains("digest", HashChain.Verify(Tally, TallyDigest, tampered).Problem);

        var relinked = blocks.ToList();
        relinked[2] = relinked[2] with { Prior = blocks[0].Hash };
        Assert.Contains("prior", HashChain.Verify(Tally, TallyDigest, relinked).Problem);

        var resigned = blocks.ToList();
        resigned[0] = resigned[0] with { Signature = "AAAA" };
        Assert.Contains("block hash", HashChain.Verify(Tally, TallyDigest, resigned).Problem);

        Assert.False(HashChain.Verify(Tally, TallyDigest, [blocks[1], blocks[0], blocks[2]]).Valid);
        Assert.False(HashChain.Verify(Tally, new byte[32], blocks).Valid);
    }

    [Fact]
    public void The_chit_core_strips_nulls_signs_non_ascii_literally_and_digests_it_escaped()
    {
        var date = ChipTimestamp.Parse("2025-03-02T10:00:00.000Z");
        var core = ChitJson.Core(Tally, "foil", "tran", Guid.Parse("405921fb-4815-40bc-95d0-051dc7bd7f4d"), date, 1234500,
            JsonNode.Parse("""{"invoice":"A-17","note":null}"""), "Café ☕");
        Assert.Equal(
            """{"by":"foil","date":"2025-03-02T10:00:00.000Z","memo":"Café ☕","ref":{"invoice":"A-17"},"tally":"ab5ab469-56af-4439-b9d5-caf843e7e1b3","type":"tran","units":1234500,"uuid":"405921fb-4815-40bc-95d0-051dc7bd7f4d"}""",
            SigningJson.Serialize(core));
        Assert.Equal(
            """{"by":"foil","date":"2025-03-02T10:00:00.000Z","memo":"Caf\u00e9 \u2615","ref":{"invoice":"A-17"},"tally":"ab5ab469-56af-4439-b9d5-caf843e7e1b3","type":"tran","units":1234500,"uuid":"405921fb-4815-40bc-95d0-051dc7bd7f4d"}""",
            DigestJson.Serialize(core));
        var settings = ChitJson.Core(Tally, "stock", "set", Guid.NewGuid(), date, null, new JsonObject { ["close"] = true }, null);
        Assert.False(settings.ContainsKey("units"));
        Assert.False(settings.ContainsKey("memo"));
    }

    private static List<HashChain.ChainRow> Build(int count)
    {
        var rows = new List<HashChain.ChainRow>();
        var prior = TallyDigest;
        using var key = UserSigningKey.Generate(UserKeyCurve.P256);
        for (var index = 1; index <= count; index++)
        {
            var uuid = Guid.NewGuid();
            var date = ChipTimestamp.Truncate(DateTimeOffset.UtcNow);
            var core = ChitJson.Core(Tally, index % 2 == 0 ? "stock" : "foil", "tran", uuid, date, 100L * index, null, $"block {index}");
            var sign = Base64Url.Encode(key.Sign(ChitJson.SignedBytes(core)));
            var hash = ChitJson.Digest(ChitJson.Hashed(core, index, prior, sign));
            rows.Add(new HashChain.ChainRow(uuid, "tran", (string)core["by"]!, date.UtcDateTime, 100L * index, null, $"block {index}", sign,
                ChitJson.Digest(core), index, prior, hash));
            prior = hash;
        }

        return rows;
    }
}
