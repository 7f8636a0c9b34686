using Tessera.Core.Storage;
using Tessera.Storage.Specification;
using Xunit;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The store specification, run against a real database file per test.</summary>
public sealed class SqliteStoreTests : StoreSpecification, IDisposable
{
    private readonly TestDatabaseDirectory _directory = new();
    private readonly List<SqliteTesseraStore> _stores = [];

    protected override async Task<ITesseraStore> CreateStoreAsync()
    {
        var store = new SqliteTesseraStore(_directory.NewConnectionString());
        _stores.Add(store);
        await store.MigrateAsync(TestContext.Current.CancellationToken);
        return store;
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        _directory.Dispose();
    }
}
