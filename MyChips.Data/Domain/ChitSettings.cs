using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>
/// Settings chits (PROTOCOL 6.2): <c>ref</c> holds <c>target</c>, <c>bound</c> (integer milliCHIPs), <c>reward</c>,
/// <c>clutch</c> (numbers in [−1, 1]) and <c>close</c> (bool). The issuer's settings go to the issuer's own half
/// (<c>hold_sets</c> and the trading variables) and to the partner's <c>part_sets</c> only (not B7); <c>close:true</c>
/// closes the tally at once, as the reference does (B8).
/// </summary>
public static class ChitSettings
{
    private static readonly string[] Keys = ["target", "bound", "reward", "clutch", "close"];

    public static void Validate(JsonObject settings)
    {
        if (settings.Count == 0)
            throw DomainErrors.InvalidField("ref", "a settings chit needs at least one of target, bound, reward, clutch, close.");
        foreach (var (key, value) in settings)
        {
            if (Array.IndexOf(Keys, key) < 0)
                throw new DomainException("unknown_field", $"ref.{key}: not a setting (target, bound, reward, clutch, close).");
            var ok = key switch
            {
                "target" or "bound" => value is JsonValue v && v.TryGetValue<long>(out var n) && n >= 0 && n <= ChitAmounts.Max,
                "reward" or "clutch" => value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is >= -1 and <= 1,
                _ => value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
            };
            if (!ok)
            {
                throw key is "target" or "bound"
                    ? DomainErrors.AmountOutOfRange($"ref.{key} must be an integer from 0 to {ChitAmounts.Max}.")
                    : DomainErrors.InvalidField($"ref.{key}", key == "close" ? "must be true or false." : "must be a number from -1 to 1.");
            }
        }

        var target = (long?)settings["target"];
        var bound = (long?)settings["bound"];
        if (target is not null && bound is not null && bound != 0 && target > bound)
            throw DomainErrors.InvalidField("ref.target", "must not exceed bound.");
    }

    internal static void ApplyHolder(TallyHalf half, JsonObject settings)
    {
        half.HoldSetsColumn = new JsonColumn(TallyReceiver.Merge(half.HoldSets, settings));
        if ((long?)settings["target"] is { } target) half.Target = target;
        if ((long?)settings["bound"] is { } bound) half.Bound = bound;
        if (settings["reward"] is JsonValue reward) half.Reward = decimal.Parse(reward.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
        if (settings["clutch"] is JsonValue clutch) half.Clutch = decimal.Parse(clutch.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
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
