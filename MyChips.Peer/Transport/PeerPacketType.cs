namespace MyChips.Peer.Transport;

/// <summary>The header byte of every peer packet (PROTOCOL §4.2): one ASCII letter before the body.</summary>
public enum PeerPacketType : byte
{
    /// <summary>Initiator, first contact by ticket: IK message 1 (raw: the JSON ticket message).</summary>
    I = (byte)'I',

    /// <summary>Initiator, before every non-ticket connection: N message 1 carrying the JSON-quoted agent ID.</summary>
    N = (byte)'N',

    /// <summary>Initiator, right after N: KK message 1 carrying the first protocol message.</summary>
    K = (byte)'K',

    /// <summary>Responder: IK or KK message 2, empty payload (raw: an empty body).</summary>
    A = (byte)'A',

    /// <summary>Both sides after A: one transport message holding one JSON message.</summary>
    T = (byte)'T',
}
