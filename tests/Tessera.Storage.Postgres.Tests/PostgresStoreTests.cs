using Tessera.Core.Storage;
using Tessera.Storage.Specification;
using Xunit;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The store specification, run against a fresh PostgreSQL database per test.</summary>
public sealed class PostgresStoreTests(PostgresServer server) : StoreSpecification, IAsyncDisposable
{
    private readonly List<PostgresTesseraStore> _stores = [];
    private readonly List<TestDatabase> _databases = [];

    protected override async Task<ITesseraStore> CreateStoreAsync()
    {
        var database = await server.CreateDatabaseAsync();
        _databases.Add(database);
        var store = new PostgresTesseraStore(database.ConnectionString);
        _stores.Add(store);
        await store.MigrateAsync(TestContext.Current.CancellationToken);
        return store;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }
}
