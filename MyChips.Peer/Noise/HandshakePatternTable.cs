using System.Collections.Frozen;

namespace MyChips.Peer.Noise;

/// <summary>
/// The one-way, fundamental (§7.4, §7.5) and deferred (§18) patterns of Noise revision 34, in the spec's notation.
/// Lines before <c>...</c> are pre-messages. Parsed on demand by <see cref="HandshakePattern"/>.
/// </summary>
internal static class HandshakePatternTable
{
    public static readonly FrozenDictionary<string, string> Notation = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // One-way (§7.4).
        ["N"] = "<- s\n...\n-> e, es",
        ["K"] = "-> s\n<- s\n...\n-> e, es, ss",
        ["X"] = "<- s\n...\n-> e, es, s, ss",

        // Interactive fundamental (§7.5).
        ["NN"] = "-> e\n<- e, ee",
        ["NK"] = "<- s\n...\n-> e, es\n<- e, ee",
        ["NX"] = "-> e\n<- e, ee, s, es",
        ["KN"] = "-> s\n...\n-> e\n<- e, ee, se",
        ["KK"] = "-> s\n<- s\n...\n-> e, es, ss\n<- e, ee, se",
        ["KX"] = "-> s\n...\n-> e\n<- e, ee, se, s, es",
        ["XN"] = "-> e\n<- e, ee\n-> s, se",
        ["XK"] = "<- s\n...\n-> e, es\n<- e, ee\n-> s, se",
        ["XX"] = "-> e\n<- e, ee, s, es\n-> s, se",
        ["IN"] = "-> e, s\n<- e, ee, se",
        ["IK"] = "<- s\n...\n-> e, es, s, ss\n<- e, ee, se",
        ["IX"] = "-> e, s\n<- e, ee, se, s, es",

        // Deferred (§18.1).
        ["NK1"] = "<- s\n...\n-> e\n<- e, ee, es",
        ["NX1"] = "-> e\n<- e, ee, s\n-> es",
        ["X1N"] = "-> e\n<- e, ee\n-> s\n<- se",
        ["X1K"] = "<- s\n...\n-> e, es\n<- e, ee\n-> s\n<- se",
        ["XK1"] = "<- s\n...\n-> e\n<- e, ee, es\n-> s, se",
        ["X1K1"] = "<- s\n...\n-> e\n<- e, ee, es\n-> s\n<- se",
        ["X1X"] = "-> e\n<- e, ee, s, es\n-> s\n<- se",
        ["XX1"] = "-> e\n<- e, ee, s\n-> es, s, se",
        ["X1X1"] = "-> e\n<- e, ee, s\n-> es, s\n<- se",
        ["K1N"] = "-> s\n...\n-> e\n<- e, ee\n-> se",
        ["K1K"] = "-> s\n<- s\n...\n-> e, es\n<- e, ee\n-> se",
        ["KK1"] = "-> s\n<- s\n...\n-> e\n<- e, ee, se, es",
        ["K1K1"] = "-> s\n<- s\n...\n-> e\n<- e, ee, es\n-> se",
        ["K1X"] = "-> s\n...\n-> e\n<- e, ee, s, es\n-> se",
        ["KX1"] = "-> s\n...\n-> e\n<- e, ee, se, s\n-> es",
        ["K1X1"] = "-> s\n...\n-> e\n<- e, ee, s\n-> se, es",
        ["I1N"] = "-> e, s\n<- e, ee\n-> se",
        ["I1K"] = "<- s\n...\n-> e, es, s\n<- e, ee\n-> se",
        ["IK1"] = "<- s\n...\n-> e, s\n<- e, ee, se, es",
        ["I1K1"] = "<- s\n...\n-> e, s\n<- e, ee, es\n-> se",
        ["I1X"] = "-> e, s\n<- e, ee, s, es\n-> se",
        ["IX1"] = "-> e, s\n<- e, ee, se, s\n-> es",
        ["I1X1"] = "-> e, s\n<- e, ee, s\n-> se, es",
    }.ToFrozenDictionary(StringComparer.Ordinal);
}
