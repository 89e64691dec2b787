using System.Net.Sockets;
using MyChips.Data.Domain;
using MyChips.Peer.Transport;

namespace MyChips.Server.Api;

/// <summary>
/// The early SSRF check of a redeem: a CHAD of another site whose host is (or resolves only to) an address the site may
/// not dial is 400 <c>address_not_allowed</c> before anything is written. The dialer checks again at connect time.
/// </summary>
internal static class PeerHostCheck
{
    public const string Code = "address_not_allowed";

    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    public static async Task EnsureAllowedAsync(HttpContext context, Chad chad)
    {
        if (chad.Host is not { Length: > 0 } host || context.RequestServices.GetService<PeerAddressPolicy>() is not { } policy)
            return;
        var agent = await context.RequestServices.GetRequiredService<SiteAgents>().GetAsync(context.RequestAborted).ConfigureAwait(false);
        if (chad.Agent == agent.Id)
            return; // our own site: delivered in the database, never dialled

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(ResolveTimeout);
        try
        {
            await policy.ResolveAsync(host, timeout.Token).ConfigureAwait(false);
        }
        catch (PeerSendException e) when (e.Failure == PeerSendFailure.AddressNotAllowed)
        {
            throw new DomainException(Code, $"The invitation's host '{host}' is an address this site does not dial for peers (loopback, private, link-local, multicast or unspecified).");
        }
        catch (Exception e) when (e is SocketException or ArgumentException || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            // Not resolvable now: the dialer resolves (and checks) again when it connects.
        }
    }
}
