namespace MyChips.Data.Domain;

/// <summary>Runs a domain state change as one fenced transaction (<see cref="SiteTransactions"/>) with a <see cref="DomainTransaction"/>.</summary>
/// <remarks>After the commit the touched users' push channels and the outbox senders are woken (<see cref="DomainNotifier"/>).</remarks>
public sealed class DomainRunner(SiteTransactions transactions, SiteAgents agents, DomainNotifier notifier)
{
    public async Task<T> RunAsync<T>(Func<DomainTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        DomainTransaction? committed = null;
        var result = await transactions.RunAsync(async (connection, transaction) =>
        {
            var domain = new DomainTransaction(connection, transaction, agent, cancellationToken);
            var result = await work(domain).ConfigureAwait(false);
            await domain.CompleteAsync().ConfigureAwait(false);
            committed = domain;
            return result;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var user in committed!.NotifyUsers)
            notifier.Post("mychips_user", user.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (committed.OutboxWritten)
            notifier.Post("mychips_outbox", "");
        return result;
    }
}
