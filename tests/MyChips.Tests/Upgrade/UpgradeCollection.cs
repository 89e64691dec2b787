using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.Upgrade;

/// <summary>The upgrade tests share one cluster and run one after another (each starts several processes).</summary>
[CollectionDefinition(Name)]
public sealed class UpgradeCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "upgrade";
}
