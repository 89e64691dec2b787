namespace MyChips.Data.Domain;

/// <summary>
/// What the operator configured about other sites' agents that the domain's rules depend on. The server registers the
/// implementation from its peer configuration (validated at start); the domain never reads configuration itself.
/// </summary>
public interface IPeerProfiles
{
    /// <summary>
    /// True for an agent configured as a reference (legacy) node. A reference node verifies user signatures only as
    /// P-521 with SHA-384 (PROTOCOL 3.1), so a tally with it needs P-521 keys on our side.
    /// </summary>
    bool IsReferencePeer(string agentId);
}

/// <summary>No agent is a reference node (hosts without peer configuration, e.g. the CLI verbs).</summary>
public sealed class NoReferencePeers : IPeerProfiles
{
    public bool IsReferencePeer(string agentId) => false;
}
