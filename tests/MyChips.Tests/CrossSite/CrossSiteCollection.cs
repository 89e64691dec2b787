using MyChips.Tests.Infrastructure;

namespace MyChips.Tests.CrossSite;

/// <summary>Two sites (two databases on this collection's own cluster) talking over real loopback TCP with Noise.</summary>
[CollectionDefinition(Name)]
public sealed class CrossSiteCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "cross-site";
}
