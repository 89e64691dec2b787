using MyChips.Data.Domain;
using MyChips.Peer.Transport;

namespace MyChips.Server.Peer;

/// <summary>
/// The domain's view of <c>Peer:PeerModes</c>: a partner configured <c>Raw</c> or <c>NoiseReference</c> is a reference
/// node (a global <c>Peer:Mode=Raw</c> makes every other site one). Built from the options validated at start.
/// </summary>
internal sealed class SitePeerProfiles(PeerTransportOptions options) : IPeerProfiles
{
    public bool IsReferencePeer(string agentId) => options.IsReferencePeer(agentId);
}
