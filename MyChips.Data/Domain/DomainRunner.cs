namespace MyChips.Data.Domain;

/// <summary>Runs a domain state change as one fenced transaction (<see cref="SiteTransactions"/>) with a <see cref="DomainTransaction"/>.</summary>
public sealed class DomainRunner(SiteTransactions transactions, SiteAgents agents)
{
    public async Task<T> RunAsync<T>(Func<DomainTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        var agent = await agents.GetAsync(cancellationToken).ConfigureAwait(false);
        return await transactions.RunAsync(async (connection, transaction) =>
        {
            var domain = new DomainTransaction(connection, transaction, agent, cancellationToken);
            var result = await work(domain).ConfigureAwait(false);
            await domain.CompleteAsync().ConfigureAwait(false);
            return result;
        }, cancellationToken).ConfigureAwait(false);
    }
}
