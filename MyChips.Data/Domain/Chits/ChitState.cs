namespace MyChips.Data.Domain;

/// <summary>
/// Chit state codes (PROTOCOL 7.3): always prefixed, <c>L.</c> when the holder issued the chit (a liability),
/// <c>A.</c> when the partner did (an asset); then the status and a pending request.
/// </summary>
public static class ChitState
{
    public static string Code(ChitRecord chit, string holderType)
    {
        var code = (chit.By == holderType ? "L." : "A.") + chit.Status;
        return chit.Request is null ? code : code + "." + chit.Request;
    }

    internal static void Guard(ChitRecord chit, string holderType, string action, params string[] allowed)
    {
        var state = Code(chit, holderType);
        if (Array.IndexOf(allowed, state) < 0)
            throw DomainErrors.InvalidStateTransition(action, state);
    }
}
