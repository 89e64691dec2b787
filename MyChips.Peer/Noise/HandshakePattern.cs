using System.Collections.Immutable;
using System.Globalization;

namespace MyChips.Peer.Noise;

/// <summary>
/// A handshake pattern with its modifiers applied, e.g. <c>XX</c>, <c>NK1</c> or <c>XXpsk0+psk3</c>.
/// Built by parsing the spec's notation, so every pattern goes through the same code path.
/// </summary>
public sealed class HandshakePattern
{
    private HandshakePattern(
        string name,
        string baseName,
        ImmutableArray<string> modifiers,
        ImmutableArray<NoiseToken> initiatorPreMessage,
        ImmutableArray<NoiseToken> responderPreMessage,
        ImmutableArray<MessagePattern> messages)
    {
        Name = name;
        BaseName = baseName;
        Modifiers = modifiers;
        InitiatorPreMessage = initiatorPreMessage;
        ResponderPreMessage = responderPreMessage;
        Messages = messages;
        IsOneWay = baseName.Length == 1;
        PskCount = messages.Sum(m => m.Tokens.Count(t => t == NoiseToken.Psk));
    }

    /// <summary>The full name as in a protocol name, e.g. <c>XXpsk0+psk3</c>.</summary>
    public string Name { get; }

    /// <summary>The pattern without modifiers, e.g. <c>XX</c>.</summary>
    public string BaseName { get; }

    public ImmutableArray<string> Modifiers { get; }

    /// <summary>Keys the responder knows before the handshake (the <c>-&gt;</c> pre-message).</summary>
    public ImmutableArray<NoiseToken> InitiatorPreMessage { get; }

    /// <summary>Keys the initiator knows before the handshake (the <c>&lt;-</c> pre-message).</summary>
    public ImmutableArray<NoiseToken> ResponderPreMessage { get; }

    public ImmutableArray<MessagePattern> Messages { get; }

    /// <summary>N, K and X: a single message; afterwards only the initiator may send (§7.4).</summary>
    public bool IsOneWay { get; }

    /// <summary>How many PSKs the handshake consumes (and therefore how many each side must supply).</summary>
    public int PskCount { get; }

    public bool HasPsk => PskCount > 0;

    /// <summary>The standard pattern names this parser knows (without modifiers).</summary>
    public static IEnumerable<string> StandardNames => HandshakePatternTable.Notation.Keys;

    /// <summary>Parses a pattern name with optional <c>pskN</c> modifiers joined by <c>+</c>.</summary>
    public static HandshakePattern Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int split = 0;
        while (split < name.Length && (char.IsAsciiLetterUpper(name[split]) || char.IsAsciiDigit(name[split])))
        {
            split++;
        }

        string baseName = name[..split];
        if (!HandshakePatternTable.Notation.TryGetValue(baseName, out string? notation))
        {
            throw new FormatException($"Unknown handshake pattern '{baseName}' in '{name}'.");
        }

        ImmutableArray<string> modifiers = split == name.Length
            ? []
            : [.. name[split..].Split('+')];
        return FromNotation(name, baseName, notation, modifiers);
    }

    /// <summary>
    /// Builds a pattern from the spec's notation (one message per line, pre-messages above a <c>...</c> line)
    /// and applies the modifiers.
    /// </summary>
    public static HandshakePattern FromNotation(string name, string baseName, string notation, IReadOnlyList<string> modifiers)
    {
        var lines = notation.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int ellipsis = Array.IndexOf(lines, "...");
        var initiatorPre = ImmutableArray<NoiseToken>.Empty;
        var responderPre = ImmutableArray<NoiseToken>.Empty;

        if (ellipsis >= 0)
        {
            foreach (string line in lines[..ellipsis])
            {
                var (fromInitiator, tokens) = ParseLine(line, name);
                if (tokens.Any(t => t is not (NoiseToken.E or NoiseToken.S)))
                {
                    throw new FormatException($"Pattern '{name}': a pre-message may only hold e and s.");
                }

                if (fromInitiator)
                {
                    initiatorPre = tokens;
                }
                else
                {
                    responderPre = tokens;
                }
            }
        }

        var messages = new List<List<NoiseToken>>();
        var directions = new List<bool>();
        foreach (string line in lines[(ellipsis + 1)..])
        {
            var (fromInitiator, tokens) = ParseLine(line, name);
            bool expected = directions.Count % 2 == 0;
            if (fromInitiator != expected)
            {
                throw new FormatException($"Pattern '{name}': messages must alternate, starting with the initiator.");
            }

            directions.Add(fromInitiator);
            messages.Add([.. tokens]);
        }

        if (messages.Count == 0)
        {
            throw new FormatException($"Pattern '{name}' has no messages.");
        }

        foreach (string modifier in modifiers)
        {
            ApplyModifier(name, modifier, messages);
        }

        var built = messages.Select((tokens, i) => new MessagePattern(directions[i], [.. tokens])).ToImmutableArray();
        return new HandshakePattern(name, baseName, [.. modifiers], initiatorPre, responderPre, built);
    }

    public static string FormatToken(NoiseToken token) => token switch
    {
        NoiseToken.E => "e",
        NoiseToken.S => "s",
        NoiseToken.EE => "ee",
        NoiseToken.ES => "es",
        NoiseToken.SE => "se",
        NoiseToken.SS => "ss",
        NoiseToken.Psk => "psk",
        _ => throw new ArgumentOutOfRangeException(nameof(token), token, null),
    };

    public override string ToString() => Name;

    // psk0 goes at the start of the first message, pskN (N >= 1) at the end of the Nth (§9.2).
    private static void ApplyModifier(string name, string modifier, List<List<NoiseToken>> messages)
    {
        if (!modifier.StartsWith("psk", StringComparison.Ordinal)
            || !int.TryParse(modifier.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            throw new NotSupportedException($"Pattern '{name}': modifier '{modifier}' is not supported (only pskN).");
        }

        if (index > messages.Count)
        {
            throw new FormatException($"Pattern '{name}': {modifier} refers to message {index}, but there are {messages.Count}.");
        }

        if (index == 0)
        {
            messages[0].Insert(0, NoiseToken.Psk);
        }
        else
        {
            messages[index - 1].Add(NoiseToken.Psk);
        }
    }

    private static (bool FromInitiator, ImmutableArray<NoiseToken> Tokens) ParseLine(string line, string name)
    {
        bool fromInitiator;
        if (line.StartsWith("->", StringComparison.Ordinal))
        {
            fromInitiator = true;
        }
        else if (line.StartsWith("<-", StringComparison.Ordinal))
        {
            fromInitiator = false;
        }
        else
        {
            throw new FormatException($"Pattern '{name}': line '{line}' must start with -> or <-.");
        }

        var tokens = line[2..]
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => t switch
            {
                "e" => NoiseToken.E,
                "s" => NoiseToken.S,
                "ee" => NoiseToken.EE,
                "es" => NoiseToken.ES,
                "se" => NoiseToken.SE,
                "ss" => NoiseToken.SS,
                "psk" => NoiseToken.Psk,
                _ => throw new FormatException($"Pattern '{name}': unknown token '{t}'."),
            })
            .ToImmutableArray();
        return (fromInitiator, tokens);
    }
}
