namespace MyChips.Server.Upgrade;

/// <summary>What an instance does once it is fenced (its code is older than the database allows).</summary>
public enum FencedBehaviour
{
    /// <summary>Stop and exit with <see cref="UpgradeExitCodes.Fenced"/>, so the orchestrator notices.</summary>
    Exit,

    /// <summary>Stay up, answering every request 503 with <c>Retry-After</c> and the reason, until stopped.</summary>
    Wait,
}
