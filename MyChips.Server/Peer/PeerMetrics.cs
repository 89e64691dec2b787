using System.Globalization;
using System.Text;

namespace MyChips.Server.Peer;

/// <summary>Counters of peer delivery for <c>/metrics</c>: what this instance sent, what peers confirmed, refused or never answered.</summary>
public sealed class PeerMetrics(PeerRefusals refusals)
{
    private long _sent;
    private long _resent;
    private long _delivered;
    private long _refusedByPeer;
    private long _givenUp;

    public void Sent(bool retry) => Interlocked.Increment(ref retry ? ref _resent : ref _sent);

    public void Delivered(int rows) => Interlocked.Add(ref _delivered, rows);

    public void RefusedByPeer() => Interlocked.Increment(ref _refusedByPeer);

    public void GivenUp() => Interlocked.Increment(ref _givenUp);

    public void WriteTo(StringBuilder text)
    {
        Counter(text, "mychips_peer_messages_sent_total", "Outbox messages handed to the peer transport, first tries.", Interlocked.Read(ref _sent));
        Counter(text, "mychips_peer_messages_resent_total", "Outbox messages sent again for want of a receipt.", Interlocked.Read(ref _resent));
        Counter(text, "mychips_peer_messages_delivered_total", "Outbox messages a peer confirmed with a receipt.", Interlocked.Read(ref _delivered));
        Counter(text, "mychips_peer_messages_refused_by_peer_total", "Outbox messages a peer refused (nak receipt); given up.", Interlocked.Read(ref _refusedByPeer));
        Counter(text, "mychips_peer_messages_given_up_total", "Outbox messages given up after the try limit.", Interlocked.Read(ref _givenUp));
        Counter(text, "mychips_peer_inbound_refused_total", "Messages and tickets from peers refused here (logged with the reason).", refusals.Count);
    }

    private static void Counter(StringBuilder text, string name, string help, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");
}
