namespace MyChips.Data.Domain;

/// <summary>
/// Tally state codes and the context guard (PROTOCOL 7.1, 7.2). The phase prefix shows only while no request is
/// pending: <c>P.</c> the partner acted and we must, <c>H.</c> we signed and wait, <c>B.</c> both signed (an offer
/// about to open).
/// </summary>
public static class TallyState
{
    public static string Code(TallyHalf half)
    {
        string? phase = null;
        if (half.Request is null)
        {
            phase = (half.Status, half.HoldSig is not null, half.PartSig is not null) switch
            {
                ("draft", _, _) when half.PartCert is not null => "P",
                ("offer", true, false) => "H",
                ("offer", false, true) => "P",
                ("offer", true, true) => "B",
                _ => null,
            };
        }

        var code = phase is null ? half.Status : phase + "." + half.Status;
        return half.Request is null ? code : code + "." + half.Request;
    }

    /// <summary>True when the user has to act (accept, refuse, or sign and offer).</summary>
    public static bool NeedsAction(TallyHalf half) => Code(half) is "P.draft" or "P.offer";

    /// <summary>The context guard: the action is allowed only from the listed states; otherwise nothing changes.</summary>
    internal static void Guard(TallyHalf half, string action, params string[] allowed)
    {
        var state = Code(half);
        if (Array.IndexOf(allowed, state) < 0)
            throw DomainErrors.InvalidStateTransition(action, state);
    }
}
