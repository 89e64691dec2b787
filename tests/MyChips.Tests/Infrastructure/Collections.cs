namespace MyChips.Tests.Infrastructure;

// Each collection gets its own cluster; collections run in parallel, the tests inside one run in order.

[CollectionDefinition(Name)]
public sealed class SchemaCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "schema";
}

[CollectionDefinition(Name)]
public sealed class HostingCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "hosting";
}
