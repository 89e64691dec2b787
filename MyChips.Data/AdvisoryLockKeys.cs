namespace MyChips.Data;

/// <summary>
/// The advisory lock keys of a site database. Fixed numbers, so that every build of the code agrees on them.
/// </summary>
public static class AdvisoryLockKeys
{
    /// <summary>Held (session level) by the one process that applies migrations: the upgrade leader.</summary>
    public const long Migration = 0x4D79_4348_0000_0001;

    /// <summary>Shared by every application transaction, exclusive in contract migrations (DESIGN.md 4.4).</summary>
    public const long Fence = 0x4D79_4348_0000_0002;

    /// <summary>Taken (transaction level) by the outbox sender that claims rows, so one instance at a time orders a peer's rows.</summary>
    public const long Outbox = 0x4D79_4348_0000_0003;

    /// <summary>Held (session level) by the instance running a retention pruning pass (<c>RetentionPruner</c>), so one prunes at a time.</summary>
    public const long Retention = 0x4D79_4348_0000_0008;
}
