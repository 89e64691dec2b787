namespace MyChips.Data.Domain;

/// <summary>
/// The receive path of protocol messages, inside the caller's transaction: local delivery calls it now, the peer
/// listener will call it for messages from other sites (after checking <c>from</c> against the authenticated
/// peer, PROTOCOL 5.1). Unknown targets and actions are ignored. Returns the replies to send.
/// </summary>
public sealed class MessageReceiver(TallyReceiver tallies, ChitReceiver chits)
{
    public Task<IReadOnlyList<PeerMessage>> ReceiveAsync(DomainTransaction tx, PeerMessage message) => message.Target switch
    {
        "tally" => tallies.ReceiveAsync(tx, message),
        "chit" => chits.ReceiveAsync(tx, message),
        _ => Task.FromResult<IReadOnlyList<PeerMessage>>([]),
    };
}
