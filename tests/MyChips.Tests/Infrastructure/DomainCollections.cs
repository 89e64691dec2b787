namespace MyChips.Tests.Infrastructure;

// The domain and user-API tests: their own clusters, in parallel with the other collections.

[CollectionDefinition(Name)]
public sealed class UserApiCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "user-api";
}

[CollectionDefinition(Name)]
public sealed class BadInputCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "bad-input";
}
