namespace MyChips.Server.Upgrade;

/// <summary>What the hold gate does with new work.</summary>
public enum HoldGateMode
{
    /// <summary>Queue it until the gate opens (starting, or the schema is being upgraded).</summary>
    Hold,

    /// <summary>Let it through.</summary>
    Open,

    /// <summary>Turn it away at once (draining, stopped, fenced).</summary>
    Refuse,
}
