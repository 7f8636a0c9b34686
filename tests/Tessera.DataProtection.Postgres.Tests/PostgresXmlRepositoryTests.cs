using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Storage.Postgres.Internal;
using Xunit;
using static Tessera.Storage.Specification.TestData;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// The Data Protection key ring in PostgreSQL: what one node stores, every node reads, so that a form or cookie protected
/// by one node is understood by another.
/// </summary>
public sealed class PostgresXmlRepositoryTests(PostgresServer server) : IAsyncDisposable
{
    private const string V004 = "Tessera.Storage.Postgres.Migrations.V004__DataProtectionKeys.sql";

    private readonly List<IAsyncDisposable> _owned = [];

    [Fact]
    public async Task Elements_are_read_back_as_they_were_stored()
    {
        var database = await NewMigratedDatabaseAsync();
        var repository = Own(new PostgresXmlRepository(database.ConnectionString));
        var key = KeyElement(Guid.NewGuid(), "c2VjcmV0IG1hdGVyaWFs");
        var revocation = new XElement("revocation", new XAttribute("version", 1), new XElement("revocationDate", "2025-03-14T09:26:53Z"),
            new XElement("key", new XAttribute("id", "*")), new XElement("reason", "Everything, by the operator"));

        Assert.Empty(repository.GetAllElements());
        repository.StoreElement(key, "key-1");
        repository.StoreElement(revocation, "revocation-1");

        var elements = repository.GetAllElements();
        Assert.Equal(2, elements.Count);
        Assert.Equal([Xml(key), Xml(revocation)], elements.Select(Xml));
        Assert.Equal(2L, await database.ScalarAsync("SELECT count(*) FROM data_protection_keys WHERE friendly_name IN ('key-1', 'revocation-1')"));
    }

    [Fact]
    public async Task Storing_under_a_name_that_is_there_already_keeps_the_first_element()
    {
        var database = await NewMigratedDatabaseAsync();
        var repository = Own(new PostgresXmlRepository(database.ConnectionString));
        var first = KeyElement(Guid.NewGuid(), "Zmlyc3Q=");
        var second = KeyElement(Guid.NewGuid(), "c2Vjb25k");

        repository.StoreElement(first, "key-a");
        repository.StoreElement(first, "key-a");
        repository.StoreElement(second, "key-a");

        Assert.Equal(Xml(first), Xml(Assert.Single(repository.GetAllElements())));
        Assert.Equal(1L, await database.ScalarAsync("SELECT count(*) FROM data_protection_keys"));
    }

    [Fact]
    public async Task Two_nodes_read_each_others_elements()
    {
        var database = await NewMigratedDatabaseAsync();
        var nodeA = Own(new PostgresXmlRepository(database.ConnectionString));
        var nodeB = Own(new PostgresXmlRepository(database.ConnectionString));
        var keyOfA = KeyElement(Guid.NewGuid(), "YQ==");
        var keyOfB = KeyElement(Guid.NewGuid(), "Yg==");

        nodeA.StoreElement(keyOfA, "key-of-a");
        Assert.Equal([Xml(keyOfA)], nodeB.GetAllElements().Select(Xml));
        nodeB.StoreElement(keyOfB, "key-of-b");

        foreach (var node in new[] { nodeA, nodeB })
        {
            Assert.Equal([Xml(keyOfA), Xml(keyOfB)], node.GetAllElements().Select(Xml));
        }
    }

    [Fact]
    public async Task What_one_node_protects_another_node_unprotects_and_both_use_one_key()
    {
        var database = await NewMigratedDatabaseAsync();
        var nodeA = NewNode(database.ConnectionString);
        var nodeB = NewNode(database.ConnectionString);
        var purpose = "Microsoft.AspNetCore.Antiforgery.DefaultAntiforgeryTokenSerializer.v1";

        var fromA = nodeA.GetDataProtector(purpose).Protect(Encoding.UTF8.GetBytes("a form from node A"));
        var fromB = nodeB.GetDataProtector(purpose).Protect(Encoding.UTF8.GetBytes("a form from node B"));

        Assert.Equal("a form from node A", Encoding.UTF8.GetString(nodeB.GetDataProtector(purpose).Unprotect(fromA)));
        Assert.Equal("a form from node B", Encoding.UTF8.GetString(nodeA.GetDataProtector(purpose).Unprotect(fromB)));
        Assert.Equal(1L, await database.ScalarAsync("SELECT count(*) FROM data_protection_keys WHERE friendly_name LIKE 'key-%'"));
    }

    [Fact]
    public async Task The_key_ring_lock_lets_one_node_in_at_a_time()
    {
        var database = await NewMigratedDatabaseAsync();
        var nodeA = Own(new PostgresXmlRepository(database.ConnectionString));
        var nodeB = Own(new PostgresXmlRepository(database.ConnectionString));
        using var release = new ManualResetEventSlim();
        var aInside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bEntered = 0;

        var holding = nodeA.RunExclusiveAsync(() =>
        {
            aInside.SetResult();
            release.Wait(Ct);
        }, Ct);
        await aInside.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var waiting = nodeB.RunExclusiveAsync(() => Interlocked.Exchange(ref bEntered, 1), Ct);
        await Task.Delay(500, Ct);

        Assert.Equal(0, Volatile.Read(ref bEntered));
        Assert.False(waiting.IsCompleted);
        release.Set();
        await holding;
        await waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(1, Volatile.Read(ref bEntered));
    }

    [Fact]
    public async Task Nodes_that_resolve_a_new_key_ring_together_under_the_lock_make_one_key()
    {
        var database = await NewMigratedDatabaseAsync();
        var nodes = Enumerable.Range(0, 3).Select(_ => NewNode(database.ConnectionString)).ToArray();

        await Task.WhenAll(nodes.Select(node => Task.Run(() => node.GetRequiredService<PostgresXmlRepository>().RunExclusiveAsync(
            () => node.GetDataProtector("startup").Protect([0]), Ct), Ct)));

        Assert.Equal(1L, await database.ScalarAsync("SELECT count(*) FROM data_protection_keys WHERE friendly_name LIKE 'key-%'"));
    }

    [Fact]
    public async Task A_database_at_V003_is_upgraded_to_hold_the_key_ring_and_keeps_its_rows()
    {
        var database = await server.CreateDatabaseAsync();
        _owned.Add(database);
        var older = Own(new PostgresTesseraStore(database.ConnectionString));
        var upToV003 = PostgresMigrations.All.Where(name => string.CompareOrdinal(name, V004) < 0).ToList();
        Assert.Equal(3, upToV003.Count);
        Assert.Equal(upToV003, await older.MigrateAsync(include: upToV003.Contains, Ct));
        var user = NewUser();
        await InsertAsync(older, user);
        Assert.Equal(true, await database.ScalarAsync("SELECT to_regclass('data_protection_keys') IS NULL"));

        var applied = await Own(new PostgresTesseraStore(database.ConnectionString)).MigrateAsync(include: null, Ct);

        Assert.Equal(V004, applied[0]);
        Assert.Equal(user, await FindUserAsync(older, user.Id));
        var repository = Own(new PostgresXmlRepository(database.ConnectionString));
        var key = KeyElement(Guid.NewGuid(), "dXBncmFkZWQ=");
        repository.StoreElement(key, "key-after-upgrade");
        Assert.Equal(Xml(key), Xml(Assert.Single(repository.GetAllElements())));
    }

    [Fact]
    public void A_connection_string_that_names_no_server_is_refused()
    {
        Assert.ThrowsAny<ArgumentException>(() => new PostgresXmlRepository("Username=tessera;Database=tessera"));
        Assert.ThrowsAny<ArgumentException>(() => new ServiceCollection().AddDataProtection().PersistKeysToTesseraPostgres("Username=tessera"));
    }

    public async ValueTask DisposeAsync()
    {
        // Nodes and repositories first, then their databases.
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
    }

    /// <summary>
    /// An element as text, to compare one read back with the one stored: a namespace declaration that serialising added
    /// is an attribute to <see cref="XNode.DeepEquals"/>, though the element means the same.
    /// </summary>
    private static string Xml(XElement element) => element.ToString(SaveOptions.DisableFormatting);

    /// <summary>A key element shaped like the ones the key manager writes (the descriptor's secret in the clear).</summary>
    private static XElement KeyElement(Guid id, string secret) => new(
        "key",
        new XAttribute("id", id),
        new XAttribute("version", 1),
        new XElement("creationDate", "2025-03-14T09:26:53.589Z"),
        new XElement("activationDate", "2025-03-14T09:26:53.589Z"),
        new XElement("expirationDate", "2025-06-12T09:26:53.589Z"),
        new XElement("descriptor",
            new XAttribute("deserializerType", "Microsoft.AspNetCore.DataProtection.AuthenticatedEncryption.ConfigurationModel.AuthenticatedEncryptorDescriptorDeserializer"),
            new XElement("descriptor",
                new XElement("encryption", new XAttribute("algorithm", "AES_256_CBC")),
                new XElement("validation", new XAttribute("algorithm", "HMACSHA256")),
                new XElement("masterKey",
                    new XAttribute(XNamespace.Get("http://schemas.asp.net/2015/03/dataProtection") + "requiresEncryption", "true"),
                    new XComment(" Warning: the key below is in an unencrypted form. "),
                    new XElement("value", secret)))));

    /// <summary>A node's Data Protection services, as the server composes them for PostgreSQL.</summary>
    private ServiceProvider NewNode(string connectionString)
    {
        var provider = new ServiceCollection()
            .AddLogging()
            .AddDataProtection()
            .SetApplicationName("Tessera")
            .PersistKeysToTesseraPostgres(connectionString)
            .Services
            .BuildServiceProvider();
        _owned.Add(provider);
        return provider;
    }

    private T Own<T>(T owned)
        where T : IDisposable
    {
        _owned.Add(new Disposer(owned));
        return owned;
    }

    private async Task<TestDatabase> NewMigratedDatabaseAsync()
    {
        var database = await server.CreateDatabaseAsync();
        _owned.Add(database);
        await using var store = new PostgresTesseraStore(database.ConnectionString);
        await store.MigrateAsync(Ct);
        return database;
    }

    private sealed class Disposer(IDisposable owned) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            owned.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
