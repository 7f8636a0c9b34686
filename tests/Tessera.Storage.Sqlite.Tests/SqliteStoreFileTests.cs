using System.Buffers.Text;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tessera.Core.Audit;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Tessera.Storage.Specification;
using Tessera.Storage.Sqlite.Internal;
using Xunit;
using static Tessera.Storage.Sqlite.Tests.TestDatabaseDirectory;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>What only the SQLite store promises: the file, its settings, its migrations and its locks.</summary>
public sealed class SqliteStoreFileTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 14, 9, 26, 53, 589, TimeSpan.Zero);

    private readonly TestDatabaseDirectory _directory = new();
    private readonly List<SqliteTesseraStore> _stores = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

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
    public async Task Migrating_twice_applies_each_script_once_and_keeps_the_data()
    {
        var connectionString = _directory.NewConnectionString();
        var store = Track(new SqliteTesseraStore(connectionString));

        var firstRun = await store.MigrateAsync(include: null, Ct);
        var user = NewUser();
        await InsertUserWithEventAsync(store, user);
        var secondRun = await store.MigrateAsync(include: null, Ct);

        Assert.Equal(SqliteMigrations.All, firstRun);
        Assert.Empty(secondRun);
        Assert.Equal(user, await FindUserAsync(store, user.Id));
        using var raw = OpenRaw(connectionString);
        Assert.Equal((long)SqliteMigrations.All.Count, Scalar(raw, $"SELECT count(*) FROM {SqliteMigrations.JournalTable}"));
    }

    [Fact]
    public async Task An_older_database_is_upgraded_in_place_and_keeps_its_rows()
    {
        Assert.True(SqliteMigrations.All.Count >= 2, "This test needs an older schema to upgrade from.");
        var connectionString = _directory.NewConnectionString();
        var first = SqliteMigrations.All[0];
        var older = Track(new SqliteTesseraStore(connectionString));
        Assert.Equal([first], await older.MigrateAsync(include: name => name == first, Ct));
        var user = NewUser();
        await InsertUserWithEventAsync(older, user);
        using (var raw = OpenRaw(connectionString))
        {
            Assert.Equal(0L, Scalar(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"));
        }

        var upgraded = Track(new SqliteTesseraStore(connectionString));
        var applied = await upgraded.MigrateAsync(include: null, Ct);

        Assert.Equal(SqliteMigrations.All.Skip(1), applied);
        Assert.Equal(user, await FindUserAsync(upgraded, user.Id));
        var events = await ReadAsync(upgraded, transaction => transaction.Audit.QueryAsync(new AuditQuery(user.Id, null, null, null, 10), Ct));
        Assert.Single(events);
        using (var raw = OpenRaw(connectionString))
        {
            // V002's two on the audit log; later migrations add triggers of their own on other tables.
            Assert.Equal(2L, Scalar(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"));
        }
    }

    [Fact]
    public async Task Upgrading_gives_users_deleted_under_the_old_scheme_a_tombstone_no_registration_can_take()
    {
        const string Upgrade = "Tessera.Storage.Sqlite.Migrations.V004__DeletedUserTombstones.sql";
        var connectionString = _directory.NewConnectionString();
        var older = Track(new SqliteTesseraStore(connectionString));
        await older.MigrateAsync(include: name => string.CompareOrdinal(name, Upgrade) < 0, Ct);
        var deleted = NewUser();
        deleted = deleted with { Email = $"deleted+{deleted.Id}@deleted.invalid", Status = UserStatus.Deleted, PasswordHash = null };
        var live = NewUser();
        await InsertUserWithEventAsync(older, deleted);
        await InsertUserWithEventAsync(older, live);

        var applied = await Track(new SqliteTesseraStore(connectionString)).MigrateAsync(include: null, Ct);

        Assert.Contains(Upgrade, applied);
        Assert.Equal(User.DeletedEmail(deleted.Id), (await FindUserAsync(older, deleted.Id))!.Email);
        Assert.Equal(live, await FindUserAsync(older, live.Id));
    }

    [Fact]
    public async Task The_audit_log_refuses_updates_and_deletes_whoever_asks()
    {
        var (store, connectionString) = await NewStoreAsync();
        await InsertUserWithEventAsync(store, NewUser());

        using var raw = OpenRaw(connectionString);
        var update = Assert.Throws<SqliteException>(() => Execute(raw, "UPDATE audit_events SET reason = 'rewritten'"));
        var delete = Assert.Throws<SqliteException>(() => Execute(raw, "DELETE FROM audit_events"));

        Assert.Contains("append-only", update.Message, StringComparison.Ordinal);
        Assert.Contains("append-only", delete.Message, StringComparison.Ordinal);
        Assert.Equal(1L, Scalar(raw, "SELECT count(*) FROM audit_events WHERE reason IS NULL"));
    }

    [Fact]
    public async Task A_session_token_never_reaches_the_database_files()
    {
        var (store, connectionString) = await NewStoreAsync();
        var user = NewUser();
        var token = SecretTokens.Create(out var tokenHash);
        var session = new Session
        {
            Id = "ses_token_test",
            TokenHash = tokenHash,
            UserId = user.Id,
            Device = new DeviceInfo("Browser", DevicePlatform.Web, "Linux", "Firefox 128", "Mozilla/5.0"),
            CreatedAt = T0,
            LastActiveAt = T0,
            AbsoluteExpiresAt = T0.AddDays(1),
        };
        await WriteAsync(store, async transaction =>
        {
            Assert.True(await transaction.Users.InsertAsync(user, Ct));
            await transaction.Sessions.InsertAsync(session, Ct);
        });
        using (var raw = OpenRaw(connectionString))
        {
            // Copies the committed pages into the main file and keeps the log's copy as well: both are searched.
            Scalar(raw, "PRAGMA wal_checkpoint(PASSIVE)");
        }

        var databasePath = DatabasePath(connectionString);
        var files = new[] { databasePath, databasePath + "-wal" }.Where(File.Exists).Select(ReadShared).ToArray();
        var tokenText = Encoding.UTF8.GetBytes(token);
        var tokenSecret = Base64Url.DecodeFromChars(token);

        Assert.All(files, bytes => Assert.Equal(-1, bytes.AsSpan().IndexOf(tokenText)));
        Assert.All(files, bytes => Assert.Equal(-1, bytes.AsSpan().IndexOf(tokenSecret)));
        Assert.NotEqual(-1, ReadShared(databasePath).AsSpan().IndexOf(tokenHash.ToArray()));
    }

    [Fact]
    public async Task Foreign_keys_are_enforced_on_every_connection()
    {
        var (store, _) = await NewStoreAsync();
        SecretTokens.Create(out var tokenHash);
        var orphan = new Session
        {
            Id = "ses_orphan",
            TokenHash = tokenHash,
            UserId = "usr_nobody",
            Device = new DeviceInfo(null, DevicePlatform.Cli, null, null, null),
            CreatedAt = T0,
            LastActiveAt = T0,
            AbsoluteExpiresAt = T0.AddDays(1),
        };

        await using var write = await store.BeginWriteAsync(Ct);
        var refused = await Assert.ThrowsAsync<SqliteException>(() => write.Sessions.InsertAsync(orphan, Ct));
        Assert.Equal(787, refused.SqliteExtendedErrorCode); // SQLITE_CONSTRAINT_FOREIGNKEY
    }

    [Fact]
    public async Task A_read_transaction_cannot_write()
    {
        var (store, _) = await NewStoreAsync();
        var user = NewUser();

        await using (var read = await store.BeginReadAsync(Ct))
        {
            var refused = await Assert.ThrowsAsync<SqliteException>(() => read.Users.InsertAsync(user, Ct));
            Assert.Equal(8, refused.SqliteErrorCode); // SQLITE_READONLY
        }

        // The pooled connection does not stay read-only for the next writer.
        await WriteAsync(store, async transaction => Assert.True(await transaction.Users.InsertAsync(user, Ct)));
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
    public async Task Migrating_creates_the_missing_directory_of_the_database_file()
    {
        var path = Path.Combine(_directory.Path, "not", "there", "yet", "tessera.db");
        var store = Track(new SqliteTesseraStore($"Data Source={path}"));

        await store.MigrateAsync(Ct);

        Assert.True(File.Exists(path));
        Assert.True(await store.IsReadyAsync(Ct));
    }

    [Fact]
    public async Task A_store_that_was_not_migrated_is_not_ready()
    {
        var store = Track(new SqliteTesseraStore(_directory.NewConnectionString()));

        Assert.False(await store.IsReadyAsync(Ct));
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

    [Fact]
    public async Task The_registration_adds_one_store_and_keeps_one_already_there()
    {
        var connectionString = _directory.NewConnectionString();
        var services = new ServiceCollection().AddTesseraSqliteStore(connectionString);

        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<ITesseraStore>();
            Assert.IsType<SqliteTesseraStore>(store);
            Assert.Same(store, provider.GetRequiredService<ITesseraStore>());
            await store.MigrateAsync(Ct);
            Assert.True(await store.IsReadyAsync(Ct));
        }

        var existing = Track(new SqliteTesseraStore(_directory.NewConnectionString()));
        var withExisting = new ServiceCollection()
            .AddSingleton<ITesseraStore>(existing)
            .AddTesseraSqliteStore(connectionString);
        await using var second = withExisting.BuildServiceProvider();
        Assert.Same(existing, second.GetRequiredService<ITesseraStore>());
    }

    [Fact]
    public async Task Migrating_logs_each_script_it_applies()
    {
        var logger = new RecordingLogger<SqliteTesseraStore>();
        var store = Track(new SqliteTesseraStore(_directory.NewConnectionString(), logger));

        await store.MigrateAsync(Ct);
        await store.MigrateAsync(Ct);

        var applied = logger.Entries.Where(entry => entry.EventId == 1).Select(entry => entry.Message).ToList();
        Assert.Equal(SqliteMigrations.All.Count, applied.Count);
        Assert.All(SqliteMigrations.All.Zip(applied), pair => Assert.Contains(pair.First, pair.Second, StringComparison.Ordinal));
        Assert.Equal(2, logger.Entries.Count(entry => entry.EventId == 2));
        Assert.DoesNotContain(logger.Entries, entry => entry.Level >= LogLevel.Warning);
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

    private static User NewUser() => new()
    {
        Id = $"usr_{Guid.CreateVersion7():N}",
        Email = $"{Guid.NewGuid():N}@example.test",
        DisplayName = "Test Person",
        PasswordHash = "hash",
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    private static Task InsertUserWithEventAsync(ITesseraStore store, User user) => WriteAsync(store, async transaction =>
    {
        Assert.True(await transaction.Users.InsertAsync(user, Ct));
        await transaction.Audit.AppendAsync(
            new AuditEvent
            {
                Id = $"evt_{Guid.CreateVersion7():N}",
                At = T0,
                Action = AuditActions.UserRegistered,
                Actor = new Actor(ActorKind.User, user.Id),
                TargetUserId = user.Id,
            },
            Ct);
    });

    private static async Task WriteAsync(ITesseraStore store, Func<IStoreTransaction, Task> write)
    {
        await using var transaction = await store.BeginWriteAsync(Ct);
        await write(transaction);
        await transaction.CommitAsync(Ct);
    }

    private static async Task<T> ReadAsync<T>(ITesseraStore store, Func<IStoreTransaction, Task<T>> read)
    {
        await using var transaction = await store.BeginReadAsync(Ct);
        return await read(transaction);
    }

    private static Task<User?> FindUserAsync(ITesseraStore store, string id) =>
        ReadAsync(store, transaction => transaction.Users.FindByIdAsync(id, Ct));

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
