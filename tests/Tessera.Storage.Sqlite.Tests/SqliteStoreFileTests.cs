using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Storage.Relational.Internal;
using Xunit;
using static Tessera.Storage.Specification.TestData;
using static Tessera.Storage.Sqlite.Tests.TestDatabaseDirectory;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>
/// What only the SQLite store promises: the file, its settings and its locks. What every store promises about its
/// database (migrations, schema guards, registration) is <see cref="SqliteStoreDatabaseTests"/>.
/// </summary>
public sealed class SqliteStoreFileTests : IDisposable
{
    private readonly TestDatabaseDirectory _directory = new();
    private readonly List<SqliteTesseraStore> _stores = [];

    [Fact]
    public async Task The_database_is_in_wal_mode()
    {
        var (store, connectionString) = await NewStoreAsync();

        using var raw = OpenRaw(connectionString);
        Assert.Equal("wal", Scalar(raw, "PRAGMA journal_mode"));
        Assert.True(await store.IsReadyAsync(Ct));
    }

    [Fact]
    public async Task The_bundled_sqlite_supports_returning_and_strict_tables()
    {
        var (_, connectionString) = await NewStoreAsync();

        using var raw = OpenRaw(connectionString);
        var version = Version.Parse((string)Scalar(raw, "SELECT sqlite_version()")!);
        Assert.True(version >= new Version(3, 37), $"SQLite {version} is older than 3.37");
    }

    [Fact]
    public async Task A_write_transaction_holds_the_write_lock_from_its_start()
    {
        var (store, connectionString) = await NewStoreAsync();

        await using (var write = await store.BeginWriteAsync(Ct))
        {
            // Nothing written yet, and still no other connection can start writing.
            using var other = OpenRaw(connectionString, defaultTimeoutSeconds: 1);
            Execute(other, "PRAGMA busy_timeout = 0");
            var busy = Assert.Throws<SqliteException>(() => Execute(other, "BEGIN IMMEDIATE"));
            Assert.Equal(5, busy.SqliteErrorCode); // SQLITE_BUSY
        }

        using var afterwards = OpenRaw(connectionString, defaultTimeoutSeconds: 1);
        Execute(afterwards, "BEGIN IMMEDIATE; ROLLBACK;");
    }

    [Fact]
    public async Task A_writer_waits_for_a_lock_held_by_another_connection_instead_of_failing()
    {
        var (store, connectionString) = await NewStoreAsync();
        var user = NewUser();
        using var other = OpenRaw(connectionString);
        Execute(other, "BEGIN IMMEDIATE");

        var writing = Task.Run(() => WriteAsync(store, async transaction => Assert.True(await transaction.Users.InsertAsync(user, Ct))), Ct);
        await Task.Delay(300, Ct);
        Assert.False(writing.IsCompleted);

        Execute(other, "COMMIT");
        await writing.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(user, await FindUserAsync(store, user.Id));
    }

    [Fact]
    public async Task The_scale_seeds_inserts_of_many_go_one_by_one_through_insert()
    {
        // bench/Tessera.ScaleSeed writes through InsertManyAsync; SQLite has no batches (nor needs them, in the
        // process), so each row is InsertAsync's, a taken email refused as InsertAsync refuses it.
        var (store, _) = await NewStoreAsync();
        var first = NewUser();
        var taken = NewUser(email: first.Email);
        var second = NewUser();
        var sessions = new[] { NewSession(first.Id), NewSession(second.Id), NewSession(second.Id) };
        bool[] inserted = [];

        await WriteAsync(store, async transaction =>
        {
            inserted = await ((RelationalUserStore)transaction.Users).InsertManyAsync([first, taken, second], batchSize: 2, Ct);
            await ((RelationalSessionStore)transaction.Sessions).InsertManyAsync(sessions, batchSize: 2, Ct);
        });

        Assert.Equal([true, false, true], inserted);
        Assert.Equal(first, await FindUserAsync(store, first.Id));
        Assert.Null(await FindUserAsync(store, taken.Id));
        Assert.Equal(second, await FindUserAsync(store, second.Id));
        foreach (var session in sessions)
        {
            Assert.Equal(session, await FindSessionAsync(store, session.Id));
        }
    }

    [Fact]
    public async Task Migrating_creates_the_missing_directory_of_the_database_file()
    {
        var path = Path.Combine(_directory.Path, "not", "there", "yet", "tessera.db");
        var store = Track(new SqliteTesseraStore($"Data Source={path}"));

        await store.MigrateAsync(Ct);

        Assert.True(File.Exists(path));
        Assert.True(await store.IsReadyAsync(Ct));
    }

    [Theory]
    [InlineData("Data Source=:memory:")]
    [InlineData("Data Source=tessera;Mode=Memory;Cache=Shared")]
    [InlineData("Data Source=")]
    [InlineData("Data Source=tessera.db;Mode=ReadOnly")]
    public void A_connection_string_without_a_writable_file_is_refused(string connectionString)
    {
        Assert.Throws<ArgumentException>(() => new SqliteTesseraStore(connectionString));
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddTesseraSqliteStore(connectionString));
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        _directory.Dispose();
    }

    private async Task<(SqliteTesseraStore Store, string ConnectionString)> NewStoreAsync()
    {
        var connectionString = _directory.NewConnectionString();
        var store = Track(new SqliteTesseraStore(connectionString));
        await store.MigrateAsync(Ct);
        return (store, connectionString);
    }

    private SqliteTesseraStore Track(SqliteTesseraStore store)
    {
        _stores.Add(store);
        return store;
    }
}
