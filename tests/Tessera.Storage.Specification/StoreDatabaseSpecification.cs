using System.Buffers.Text;
using System.Data.Common;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.Core.Audit;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Storage.Specification;

/// <summary>
/// What every store promises about its database, beyond the ports: its migrations, the guards its schema keeps
/// whoever writes (an append-only audit log, foreign keys, read-only reads), when it says it is ready, how it is
/// registered, and that a session token never reaches it. Written once; a provider's test project derives a class
/// that fills in the hooks below with its own databases, raw SQL and error codes.
/// </summary>
public abstract class StoreDatabaseSpecification
{
    /// <summary>A connection string for a new, empty database (not migrated); the deriving class cleans it up after the test.</summary>
    protected abstract Task<string> CreateDatabaseAsync();

    /// <summary>A store on the database <paramref name="connectionString"/> names, not migrated; the deriving class disposes it after the test.</summary>
    /// <param name="loggerFactory">Where the store's logger comes from; none when null.</param>
    protected abstract ITesseraStore CreateStore(string connectionString, ILoggerFactory? loggerFactory = null);

    /// <summary>A store whose database cannot be reached at all.</summary>
    protected abstract Task<ITesseraStore> CreateUnreachableStoreAsync();

    /// <summary>Applies the migrations of <paramref name="store"/> that <paramref name="include"/> accepts (by script name; all when null); returns the names applied.</summary>
    protected abstract Task<IReadOnlyList<string>> MigrateAsync(ITesseraStore store, Func<string, bool>? include);

    /// <summary>Every migration script (its full resource name), in the order they apply.</summary>
    protected abstract IReadOnlyList<string> MigrationScripts { get; }

    /// <summary>The file names the scripts must have: they are recorded in every existing database's journal.</summary>
    protected abstract IReadOnlyList<string> ExpectedMigrationFileNames { get; }

    /// <summary>The script that gives users deleted under the old scheme a tombstone.</summary>
    protected abstract string TombstoneMigration { get; }

    /// <summary>The script that gives sessions the client they were created through.</summary>
    protected abstract string SessionClientMigration { get; }

    /// <summary>A time as the database keeps it in a timestamp column, for rows written with raw SQL.</summary>
    protected abstract object StoredTime(DateTimeOffset at);

    /// <summary>Statements that would change or empty the audit log, every way the database offers.</summary>
    protected abstract IReadOnlyList<string> AuditLogRewrites { get; }

    /// <summary>Runs <paramref name="sql"/> on a plain connection with none of the store's settings, as an operator's console would.</summary>
    protected abstract Task<int> ExecuteAsync(string connectionString, string sql, params (string Name, object? Value)[] parameters);

    /// <summary>Like <see cref="ExecuteAsync"/>, and returns the first column of the first row.</summary>
    protected abstract Task<object?> ScalarAsync(string connectionString, string sql, params (string Name, object? Value)[] parameters);

    /// <summary>How many triggers the schema has (the database's own internal ones aside), on <paramref name="table"/> or on all tables.</summary>
    protected abstract Task<long> CountTriggersAsync(string connectionString, string? table = null);

    /// <summary>Whether <paramref name="bytes"/> stand anywhere the database keeps the sessions (its files, or its rows).</summary>
    protected abstract Task<bool> HoldsAsync(string connectionString, byte[] bytes);

    protected abstract bool IsForeignKeyViolation(DbException exception);

    protected abstract bool IsReadOnlyViolation(DbException exception);

    /// <summary>Registers the provider's store and its change feed, as an application does.</summary>
    protected abstract IServiceCollection AddStore(IServiceCollection services, string connectionString);

    /// <summary>The type of store <see cref="AddStore"/> registers.</summary>
    protected abstract Type StoreType { get; }

    /// <summary>The change feed (watcher or listener) <see cref="AddStore"/> registers as a hosted service.</summary>
    protected abstract Type ChangeFeedType { get; }

    [Fact]
    public async Task Migrating_applies_each_script_once_and_again_is_a_no_op_that_keeps_the_data()
    {
        var database = await CreateDatabaseAsync();
        var store = CreateStore(database);

        var firstRun = await MigrateAsync(store, include: null);
        var user = NewUser();
        await InsertUserWithEventAsync(store, user);
        var secondRun = await MigrateAsync(store, include: null);

        Assert.Equal(ExpectedMigrationFileNames, MigrationScripts.Select(FileName));
        Assert.Equal(MigrationScripts, firstRun);
        Assert.Empty(secondRun);
        Assert.Equal(user, await FindUserAsync(store, user.Id));
        Assert.Equal((long)MigrationScripts.Count, await ScalarAsync(database, "SELECT count(*) FROM schema_versions"));
    }

    [Fact]
    public async Task An_older_database_is_upgraded_in_place_and_keeps_its_rows()
    {
        Assert.True(MigrationScripts.Count >= 2, "This test needs an older schema to upgrade from.");
        var database = await CreateDatabaseAsync();
        var first = MigrationScripts[0];
        var older = CreateStore(database);
        Assert.Equal([first], await MigrateAsync(older, include: name => name == first));
        var user = NewUser();
        await InsertUserWithEventAsync(older, user);
        Assert.Equal(0L, await CountTriggersAsync(database));

        var upgraded = CreateStore(database);
        var applied = await MigrateAsync(upgraded, include: null);

        Assert.Equal(MigrationScripts.Skip(1), applied);
        Assert.Equal(user, await FindUserAsync(upgraded, user.Id));
        Assert.Single(await ReadAsync(upgraded, transaction => transaction.Audit.QueryAsync(new AuditQuery(user.Id, null, null, null, 10), Ct)));
        // V002's two on the audit log; later migrations add those that report changes to users and sessions.
        Assert.Equal(2L, await CountTriggersAsync(database, "audit_events"));
        Assert.True(await CountTriggersAsync(database, "users") > 0);
        Assert.True(await CountTriggersAsync(database, "sessions") > 0);
    }

    [Fact]
    public async Task Upgrading_gives_users_deleted_under_the_old_scheme_a_tombstone_no_registration_can_take()
    {
        var database = await CreateDatabaseAsync();
        var older = CreateStore(database);
        await MigrateAsync(older, include: name => string.CompareOrdinal(name, TombstoneMigration) < 0);
        var deleted = NewUser();
        deleted = deleted with { Email = $"deleted+{deleted.Id}@deleted.invalid", Status = UserStatus.Deleted, PasswordHash = null };
        var live = NewUser();
        await InsertAsync(older, deleted);
        await InsertAsync(older, live);

        var applied = await MigrateAsync(CreateStore(database), include: null);

        // The tombstones first, then whatever came after them.
        Assert.Equal(MigrationScripts.Where(name => string.CompareOrdinal(name, TombstoneMigration) >= 0), applied);
        Assert.Equal(TombstoneMigration, applied[0]);
        Assert.Equal(User.DeletedEmail(deleted.Id), (await FindUserAsync(older, deleted.Id))!.Email);
        Assert.Equal(live, await FindUserAsync(older, live.Id));
    }

    [Fact]
    public async Task Upgrading_a_database_from_before_session_clients_keeps_its_sessions_as_made_directly()
    {
        var database = await CreateDatabaseAsync();
        var older = CreateStore(database);
        await MigrateAsync(older, include: name => string.CompareOrdinal(name, SessionClientMigration) < 0);
        var user = NewUser();
        await InsertAsync(older, user);
        // Written as the version before wrote it: the sessions table as it was then has no client column.
        var session = NewSession(user.Id);
        await ExecuteAsync(
            database,
            """
            INSERT INTO sessions (id, token_hash, user_id, device_name, device_platform, device_os, device_browser, user_agent, ip_address,
                                  created_at, last_active_at, absolute_expires_at)
            VALUES (@id, @tokenHash, @userId, @name, 'desktop', @os, @browser, @userAgent, @ip, @createdAt, @lastActiveAt, @absoluteExpiresAt)
            """,
            ("id", session.Id), ("tokenHash", session.TokenHash.ToArray()), ("userId", user.Id), ("name", session.Device.Name),
            ("os", session.Device.Os), ("browser", session.Device.Browser), ("userAgent", session.Device.UserAgent), ("ip", session.IpAddress),
            ("createdAt", StoredTime(session.CreatedAt)), ("lastActiveAt", StoredTime(session.LastActiveAt)),
            ("absoluteExpiresAt", StoredTime(session.AbsoluteExpiresAt)));

        var upgraded = CreateStore(database);
        var applied = await MigrateAsync(upgraded, include: null);

        Assert.Equal(SessionClientMigration, applied[0]);
        var read = await ReadAsync(upgraded, transaction => transaction.Sessions.FindByTokenHashAsync(session.TokenHash, Ct));
        Assert.Equal(session, read);
        Assert.Null(read!.ClientId);
        Assert.Equal(session, Assert.Single(await ReadAsync(upgraded, transaction => transaction.Sessions.ListUnrevokedAsync(user.Id, T0, Ct))));
    }

    [Fact]
    public async Task The_audit_log_refuses_to_be_changed_or_emptied_whoever_asks()
    {
        var (store, database) = await NewStoreAsync();
        await InsertUserWithEventAsync(store, NewUser());

        Assert.NotEmpty(AuditLogRewrites);
        foreach (var rewrite in AuditLogRewrites)
        {
            var refused = await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(database, rewrite));
            Assert.Contains("append-only", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1L, await ScalarAsync(database, "SELECT count(*) FROM audit_events WHERE reason IS NULL"));
    }

    [Fact]
    public async Task Foreign_keys_are_enforced_on_every_connection()
    {
        var (store, _) = await NewStoreAsync();

        await using var write = await store.BeginWriteAsync(Ct);
        var refused = await Assert.ThrowsAnyAsync<DbException>(() => write.Sessions.InsertAsync(NewSession("usr_nobody"), Ct));
        Assert.True(IsForeignKeyViolation(refused), refused.Message);
    }

    [Fact]
    public async Task A_read_transaction_cannot_write_and_leaves_no_trace_on_the_pooled_connection()
    {
        var (store, _) = await NewStoreAsync();
        var user = NewUser();

        await using (var read = await store.BeginReadAsync(Ct))
        {
            var refused = await Assert.ThrowsAnyAsync<DbException>(() => read.Users.InsertAsync(user, Ct));
            Assert.True(IsReadOnlyViolation(refused), refused.Message);
        }

        // The same pooled connection serves the next writer, which may write.
        await WriteAsync(store, async transaction => Assert.True(await transaction.Users.InsertAsync(user, Ct)));
        Assert.Equal(user, await FindUserAsync(store, user.Id));
    }

    [Fact]
    public async Task A_store_that_was_not_migrated_is_not_ready_nor_is_one_it_cannot_reach()
    {
        var unmigrated = CreateStore(await CreateDatabaseAsync());
        var unreachable = await CreateUnreachableStoreAsync();

        Assert.False(await unmigrated.IsReadyAsync(Ct));
        Assert.False(await unreachable.IsReadyAsync(Ct));
    }

    [Fact]
    public async Task The_registration_adds_one_store_and_its_change_feed_as_a_hosted_service_and_keeps_a_store_already_there()
    {
        var database = await CreateDatabaseAsync();
        var services = new ServiceCollection().AddSingleton(new SessionCache());
        AddStore(AddStore(services, database), database);

        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<ITesseraStore>();
            Assert.IsType(StoreType, store);
            Assert.Same(store, provider.GetRequiredService<ITesseraStore>());
            await store.MigrateAsync(Ct);
            Assert.True(await store.IsReadyAsync(Ct));
            var hosted = Assert.Single(provider.GetServices<IHostedService>());
            Assert.IsType(ChangeFeedType, hosted);
            Assert.Same(provider.GetRequiredService(ChangeFeedType), hosted);
        }

        var existing = CreateStore(await CreateDatabaseAsync());
        var withExisting = AddStore(new ServiceCollection().AddSingleton(existing), database);
        await using var second = withExisting.BuildServiceProvider();
        Assert.Same(existing, second.GetRequiredService<ITesseraStore>());
    }

    [Fact]
    public async Task Migrating_logs_each_script_it_applies()
    {
        var log = new RecordingLoggerFactory();
        var store = CreateStore(await CreateDatabaseAsync(), log);

        await store.MigrateAsync(Ct);
        await store.MigrateAsync(Ct);

        var applied = log.Entries.Where(entry => entry.EventId == 1).Select(entry => entry.Message).ToList();
        Assert.Equal(MigrationScripts.Count, applied.Count);
        Assert.All(MigrationScripts.Zip(applied), pair => Assert.Contains(pair.First, pair.Second, StringComparison.Ordinal));
        Assert.Equal(2, log.Entries.Count(entry => entry.EventId == 2));
        Assert.DoesNotContain(log.Entries, entry => entry.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task A_session_token_is_stored_only_as_its_hash()
    {
        var (store, database) = await NewStoreAsync();
        var user = NewUser();
        var token = SecretTokens.Create(out var tokenHash);
        var session = NewSession(user.Id) with { TokenHash = tokenHash };
        await InsertAsync(store, user, session);

        Assert.Equal(tokenHash.ToArray(), await ScalarAsync(database, "SELECT token_hash FROM sessions WHERE id = @id", ("id", session.Id)));
        Assert.False(await HoldsAsync(database, Encoding.UTF8.GetBytes(token)), "The token's text is stored.");
        Assert.False(await HoldsAsync(database, Base64Url.DecodeFromChars(token)), "The token's secret is stored.");
        Assert.True(await HoldsAsync(database, tokenHash.ToArray()), "The search for stored bytes finds nothing at all.");
    }

    private static string FileName(string resourceName) => resourceName[(resourceName.LastIndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..];

    private async Task<(ITesseraStore Store, string Database)> NewStoreAsync()
    {
        var database = await CreateDatabaseAsync();
        var store = CreateStore(database);
        await store.MigrateAsync(Ct);
        return (store, database);
    }

    private static Task InsertUserWithEventAsync(ITesseraStore store, User user) => WriteAsync(store, async transaction =>
    {
        Assert.True(await transaction.Users.InsertAsync(user, Ct));
        await transaction.Audit.AppendAsync(NewEvent(user.Id), Ct);
    });
}
