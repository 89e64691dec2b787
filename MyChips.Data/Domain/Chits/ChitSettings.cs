using System.Text.Json;
using System.Text.Json.Nodes;
using MyChips.Data.Crypto;

namespace MyChips.Data.Domain;

/// <summary>
/// Settings chits (PROTOCOL 6.2): <c>ref</c> holds <c>target</c>, <c>bound</c> (integer milliCHIPs), <c>reward</c>,
/// <c>clutch</c> (numbers in [−1, 1]) and <c>close</c> (bool). The issuer's settings go to the issuer's own half
/// (<c>hold_sets</c> and the trading variables) and to the partner's <c>part_sets</c> only (not B7); <c>close:true</c>
/// closes the tally at once, as the reference does (B8). <c>reward</c> and <c>clutch</c> must mean one value when signed
/// (a double), hashed (jsonb numeric, then a float) and stored (numeric): see <see cref="Fraction"/> and docs/numbers.md.
/// </summary>
public static class ChitSettings
{
    /// <summary>Most digits after the decimal point a <c>reward</c> or <c>clutch</c> may have.</summary>
    public const int MaxDecimals = 15;

    private static readonly string[] Keys = ["target", "bound", "reward", "clutch", "close"];

    public static void Validate(JsonObject settings)
    {
        if (settings.Count == 0)
            throw DomainErrors.InvalidField("ref", "a settings chit needs at least one of target, bound, reward, clutch, close.");
        foreach (var (key, value) in settings)
        {
            if (Array.IndexOf(Keys, key) < 0)
                throw new DomainException("unknown_field", $"ref.{key}: not a setting (target, bound, reward, clutch, close).");
            if (key is "reward" or "clutch")
            {
                Fraction(key, value);
                continue;
            }

            var ok = key switch
            {
                "target" or "bound" => value is JsonValue v && v.TryGetValue<long>(out var n) && n >= 0 && n <= ChitAmounts.Max,
                _ => value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
            };
            if (!ok)
            {
                throw key is "target" or "bound"
                    ? DomainErrors.AmountOutOfRange($"ref.{key} must be an integer from 0 to {ChitAmounts.Max}.")
                    : DomainErrors.InvalidField($"ref.{key}", "must be true or false.");
            }
        }

        var target = (long?)settings["target"];
        var bound = (long?)settings["bound"];
        if (target is not null && bound is not null && bound != 0 && target > bound)
            throw DomainErrors.InvalidField("ref.target", "must not exceed bound.");
    }

    /// <summary>
    /// The exact value of a <c>reward</c>/<c>clutch</c>: a number from −1 to 1 with at most <see cref="MaxDecimals"/>
    /// digits after the point (exponent applied) and an exponent, if written, within ±15. Such a number is the same
    /// value as the signer's double, in the digest (before and after jsonb re-prints it) and in the numeric column;
    /// anything else (<c>1e-400</c>, <c>1.0000000000000000000000000001</c>) would not be, and is refused.
    /// </summary>
    public static decimal Fraction(string key, JsonNode? value)
    {
        if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            && ExactNumber.TryRead(JsonLeaf.NumberLiteral(v), MaxDecimals, out var number) && number is >= -1 and <= 1)
            return number;
        throw DomainErrors.InvalidField($"ref.{key}",
            $"must be a number from -1 to 1 with at most {MaxDecimals} digits after the decimal point (an exponent, if any, from -{ExactNumber.MaxExponent} to {ExactNumber.MaxExponent}).");
    }

    /// <summary>
    /// A partner's settings chit, held to the rule our own users are: a refusal is the message's fault
    /// (<c>malformed_message</c>, not retried), and nothing of it is written.
    /// </summary>
    internal static void ValidateReceived(JsonNode? reference)
    {
        try
        {
            Validate(reference as JsonObject ?? throw DomainErrors.InvalidField("ref", "a settings chit carries its settings as an object."));
        }
        catch (DomainException e)
        {
            throw new DomainException("malformed_message", $"settings chit: {e.Message}");
        }
    }

    internal static void ApplyHolder(TallyHalf half, JsonObject settings)
    {
        half.HoldSetsColumn = new JsonColumn(TallyReceiver.Merge(half.HoldSets, settings));
        if ((long?)settings["target"] is { } target) half.Target = target;
        if ((long?)settings["bound"] is { } bound) half.Bound = bound;
        if (settings["reward"] is { } reward) half.Reward = Fraction("reward", reward);
        if (settings["clutch"] is { } clutch) half.Clutch = Fraction("clutch", clutch);
        if (half.Bound != 0 && half.Target > half.Bound) half.Target = half.Bound;
        Close(half, settings);
    }

    internal static void ApplyPartner(TallyHalf half, JsonObject settings)
    {
        half.PartSetsColumn = new JsonColumn(TallyReceiver.Merge(half.PartSets, settings));
        Close(half, settings);
    }

    private static void Close(TallyHalf half, JsonObject settings)
    {
        if (settings["close"] is JsonValue close && close.GetValueKind() == JsonValueKind.True && half.Status == "open")
            half.Status = "close";
        half.Touch();
    }
}
