using System.Text.Json.Nodes;

namespace MyChips.Data.Domain;

/// <summary>
/// Tally terms are free-form (PROTOCOL 2.7) but bounded; <c>limit</c>, when present, is the credit in milliCHIPs the
/// granting side extends and is enforced on every payment (an absent limit grants no credit).
/// </summary>
public static class TallyTerms
{
    public const int MaxBytes = 4096;

    public static JsonObject Validate(JsonObject? terms, string field)
    {
        if (terms is null)
            return [];
        if (terms.ToJsonString().Length > MaxBytes)
            throw DomainErrors.InvalidField(field, $"must be at most {MaxBytes} bytes of JSON.");
        if (terms["limit"] is { } limit && !(limit is JsonValue v && v.TryGetValue<long>(out var n) && n >= 0 && n <= ChitAmounts.Max))
            throw DomainErrors.AmountOutOfRange($"{field}.limit must be an integer number of milliCHIPs from 0 to {ChitAmounts.Max}.");
        return terms;
    }
}
