using System.Globalization;

namespace MyChips.Data.Upgrade;

/// <summary>
/// A request that instances stop taking new work, finish what is in flight and exit: one instance by id, or every
/// instance whose code schema version is older than a version (the leader's request before a contract migration).
/// Sent as a NOTIFY payload and also written into <c>mychips_meta.instances</c> (the polling fallback).
/// </summary>
public sealed record DrainRequest(Guid? Instance, int? OlderThan, string Reason)
{
    public static DrainRequest ForInstance(Guid instance, string reason) => new(instance, null, reason);

    public static DrainRequest ForOlderThan(int codeSchemaVersion, string reason) => new(null, codeSchemaVersion, reason);

    /// <summary>Whether the instance with this id and code schema version is asked to drain.</summary>
    public bool Matches(Guid id, int codeSchemaVersion) =>
        (Instance is { } instance && instance == id) || (OlderThan is { } version && codeSchemaVersion < version);

    /// <summary>The NOTIFY payload: <c>instance:GUID</c> or <c>older-than:N</c>, a tab, then the reason.</summary>
    public string ToPayload()
    {
        var target = Instance is { } id ? $"instance:{id}" : string.Create(CultureInfo.InvariantCulture, $"older-than:{OlderThan}");
        var reason = Reason.Length > 500 ? Reason[..500] : Reason; // NOTIFY payloads are capped at 8000 bytes
        return $"{target}\t{reason}";
    }

    public static DrainRequest? TryParse(string payload)
    {
        var tab = payload.IndexOf('\t', StringComparison.Ordinal);
        var target = tab < 0 ? payload : payload[..tab];
        var reason = tab < 0 ? "drain requested" : payload[(tab + 1)..];
        if (target.StartsWith("instance:", StringComparison.Ordinal) && Guid.TryParse(target["instance:".Length..], out var id))
        {
            return ForInstance(id, reason);
        }

        if (target.StartsWith("older-than:", StringComparison.Ordinal)
            && int.TryParse(target["older-than:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return ForOlderThan(version, reason);
        }

        return null;
    }
}
