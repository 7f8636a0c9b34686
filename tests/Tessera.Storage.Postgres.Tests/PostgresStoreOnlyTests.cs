using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Tessera.Storage.Postgres.Internal;
using Tessera.Storage.Specification;
using Xunit;
using static Tessera.Storage.Postgres.Tests.TestData;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>What only the PostgreSQL store promises: its migrations, its schema, its triggers and its registration.</summary>
public sealed class PostgresStoreOnlyTests(PostgresServer server) : IAsyncDisposable
{
    private readonly List<PostgresTesseraStore> _stores = [];
    private readonly List<TestDatabase> _databases = [];

    [Fact]
    public async Task Migrating_applies_each_script_once_and_again_is_a_no_op_that_keeps_the_data()
    {
        var database = await NewDatabaseAsync();
        var store = Track(new PostgresTesseraStore(database.ConnectionString));

        var firstRun = await store.MigrateAsync(include: null, Ct);
        var user = NewUser();
        await WriteAsync(store, async transaction =>
        {
            Assert.True(await transaction.Users.InsertAsync(user, Ct));
            await transaction.Audit.AppendAsync(NewEvent(user.Id), Ct);
        });
        var secondRun = await store.MigrateAsync(include: null, Ct);

        Assert.Equal(["V001__Initial.sql", "V002__AuditAppendOnly.sql", "V003__ChangeNotifications.sql", "V004__DataProtectionKeys.sql", "V005__DeletedUserTombstones.sql"], PostgresMigrations.All.Select(ShortName));
        Assert.Equal(PostgresMigrations.All, firstRun);
        Assert.Empty(secondRun);
        Assert.Equal(user, await FindUserAsync(store, user.Id));
        Assert.Equal((long)PostgresMigrations.All.Count, await database.ScalarAsync($"SELECT count(*) FROM {PostgresMigrations.JournalTable}"));
    }

    [Fact]
    public async Task Upgrading_gives_users_deleted_under_the_old_scheme_a_tombstone_no_registration_can_take()
    {
        const string Upgrade = "Tessera.Storage.Postgres.Migrations.V005__DeletedUserTombstones.sql";
        var database = await NewDatabaseAsync();
        var older = Track(new PostgresTesseraStore(database.ConnectionString));
        await older.MigrateAsync(include: name => string.CompareOrdinal(name, Upgrade) < 0, Ct);
        var deleted = NewUser();
        deleted = deleted with { Email = $"deleted+{deleted.Id}@deleted.invalid", Status = UserStatus.Deleted, PasswordHash = null };
        var live = NewUser();
        await InsertAsync(older, deleted);
        await InsertAsync(older, live);

        var applied = await Track(new PostgresTesseraStore(database.ConnectionString)).MigrateAsync(include: null, Ct);

        Assert.Equal([Upgrade], applied);
        Assert.Equal(User.DeletedEmail(deleted.Id), (await FindUserAsync(older, deleted.Id))!.Email);
        Assert.Equal(live, await FindUserAsync(older, live.Id));
    }

    [Fact]
    public async Task Three_nodes_migrating_a_new_database_at_once_all_succeed_and_each_script_runs_once()
    {
        var database = await NewDatabaseAsync();
        var nodes = Enumerable.Range(0, 3).Select(_ => Track(new PostgresTesseraStore(database.ConnectionString))).ToArray();

        var runs = await Task.WhenAll(nodes.Select(node => Task.Run(() => node.MigrateAsync(include: null, Ct), Ct)));

        // One of them applied everything; the others, having waited for the lock, found nothing to do.
        Assert.Equal(PostgresMigrations.All, runs.SelectMany(applied => applied).Order(StringComparer.Ordinal));
        Assert.Single(runs, applied => applied.Count > 0);
        Assert.Equal((long)PostgresMigrations.All.Count, await database.ScalarAsync($"SELECT count(*) FROM {PostgresMigrations.JournalTable}"));
        foreach (var node in nodes)
        {
            Assert.True(await node.IsReadyAsync(Ct));
        }
    }

    [Fact]
    public async Task An_older_database_is_upgraded_in_place_and_keeps_its_rows()
    {
        var database = await NewDatabaseAsync();
        var first = PostgresMigrations.All[0];
        var older = Track(new PostgresTesseraStore(database.ConnectionString));
        Assert.Equal([first], await older.MigrateAsync(include: name => name == first, Ct));
        var user = NewUser();
        await InsertAsync(older, user);
        Assert.Equal(0L, await database.ScalarAsync("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"));

        var applied = await Track(new PostgresTesseraStore(database.ConnectionString)).MigrateAsync(include: null, Ct);

        Assert.Equal(PostgresMigrations.All.Skip(1), applied);
        Assert.Equal(user, await FindUserAsync(older, user.Id));
        Assert.True((long)(await database.ScalarAsync("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"))! >= 8);
    }

    [Fact]
    public async Task The_hot_queries_have_their_indexes()
    {
        var (_, database) = await NewStoreAsync();

        var indexes = new List<string>();
        await using (var connection = await database.OpenRawAsync())
        await using (var command = new NpgsqlCommand("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()", connection))
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                indexes.Add(reader.GetString(0));
            }
        }

        Assert.Contains(indexes, d => d.Contains("UNIQUE INDEX ux_sessions_token_hash ON public.sessions USING btree (token_hash)", StringComparison.Ordinal));
        Assert.Contains(indexes, d => d.Contains("ix_sessions_user_unrevoked ON public.sessions USING btree (user_id) WHERE (revoked_at IS NULL)", StringComparison.Ordinal));
        Assert.Contains(indexes, d => d.Contains("UNIQUE INDEX ux_users_email ON public.users USING btree (email)", StringComparison.Ordinal));
        Assert.Contains(indexes, d => d.Contains("ix_users_status_created ON public.users USING btree (status, created_at, id)", StringComparison.Ordinal));
        Assert.Contains(indexes, d => d.Contains("ON public.audit_events USING btree (target_user_id, at DESC, id DESC)", StringComparison.Ordinal));
        Assert.Contains(indexes, d => d.Contains("ON public.audit_events USING btree (actor_id, at DESC, id DESC)", StringComparison.Ordinal));
        Assert.Contains(indexes, d => d.Contains("ON public.audit_events USING btree (action, at DESC, id DESC)", StringComparison.Ordinal));
        Assert.Contains(indexes, d => d.Contains("ON public.audit_events USING btree (at DESC, id DESC)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_audit_log_refuses_updates_deletes_and_truncation_whoever_asks()
    {
        var (store, database) = await NewStoreAsync();
        var user = NewUser();
        await WriteAsync(store, async transaction =>
        {
            Assert.True(await transaction.Users.InsertAsync(user, Ct));
            await transaction.Audit.AppendAsync(NewEvent(user.Id), Ct);
        });

        var update = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("UPDATE audit_events SET reason = 'rewritten'"));
        var delete = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("DELETE FROM audit_events"));
        var truncate = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("TRUNCATE audit_events"));

        Assert.All([update, delete, truncate], refused => Assert.Contains("append-only", refused.MessageText, StringComparison.Ordinal));
        Assert.Equal(1L, await database.ScalarAsync("SELECT count(*) FROM audit_events WHERE reason IS NULL"));
    }

    [Fact]
    public async Task A_read_transaction_cannot_write_and_leaves_no_trace_on_the_pooled_connection()
    {
        var (store, _) = await NewStoreAsync();
        var user = NewUser();

        await using (var read = await store.BeginReadAsync(Ct))
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => read.Users.InsertAsync(user, Ct));
            Assert.Equal(PostgresErrorCodes.ReadOnlySqlTransaction, refused.SqlState);
        }

        // The same pooled connection serves the next writer, which may write.
        await WriteAsync(store, async transaction => Assert.True(await transaction.Users.InsertAsync(user, Ct)));
        Assert.Equal(user, await FindUserAsync(store, user.Id));
    }

    [Fact]
    public async Task Foreign_keys_are_enforced()
    {
        var (store, _) = await NewStoreAsync();

        await using var write = await store.BeginWriteAsync(Ct);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => write.Sessions.InsertAsync(NewSession("usr_nobody"), Ct));
        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);
    }

    [Fact]
    public async Task Times_are_kept_to_the_millisecond_like_every_store()
    {
        var (store, _) = await NewStoreAsync();
        var precise = T0.AddTicks(4321); // 0.4321 ms past T0
        var user = NewUser() with { CreatedAt = precise, UpdatedAt = precise.ToOffset(TimeSpan.FromHours(2)), BannedUntil = precise };

        await InsertAsync(store, user);

        var found = await FindUserAsync(store, user.Id);
        Assert.Equal(user with { CreatedAt = T0, UpdatedAt = T0, BannedUntil = T0 }, found);
        Assert.Equal(TimeSpan.Zero, found!.UpdatedAt.Offset);
    }

    [Fact]
    public async Task A_direct_sql_change_to_access_moves_the_security_version()
    {
        var (store, database) = await NewStoreAsync();
        var user = NewUser() with { SecurityVersion = 7 };
        await InsertAsync(store, user);

        await database.ExecuteAsync("UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id));
        Assert.Equal(8, (await FindUserAsync(store, user.Id))!.SecurityVersion);

        await database.ExecuteAsync("UPDATE users SET banned = true, ban_reason = 'by hand' WHERE id = @id", ("id", user.Id));
        await database.ExecuteAsync("UPDATE users SET password_hash = 'reset-by-hand' WHERE id = @id", ("id", user.Id));
        await database.ExecuteAsync("UPDATE users SET role = 'admin' WHERE id = @id", ("id", user.Id));
        Assert.Equal(11, (await FindUserAsync(store, user.Id))!.SecurityVersion);

        // Changes that do not touch access, and writers that move the version themselves, are left as written.
        await database.ExecuteAsync("UPDATE users SET display_name = 'Renamed' WHERE id = @id", ("id", user.Id));
        await database.ExecuteAsync("UPDATE users SET status = 'active', security_version = 20 WHERE id = @id", ("id", user.Id));
        var found = await FindUserAsync(store, user.Id);
        Assert.Equal(20, found!.SecurityVersion);
        Assert.Equal(UserStatus.Active, found.Status);
    }

    [Fact]
    public async Task Tesseras_own_updates_are_written_exactly_as_given()
    {
        var (store, _) = await NewStoreAsync();
        var user = NewUser() with { SecurityVersion = 3 };
        await InsertAsync(store, user);

        // A password rehash at login changes the hash and keeps the version, as the store contract and SQLite do.
        var rehashed = user with { PasswordHash = "AQAAAAIAAYagAAAAErehashed", UpdatedAt = T0.AddMinutes(1) };
        await WriteAsync(store, transaction => transaction.Users.UpdateAsync(rehashed, Ct));
        Assert.Equal(rehashed, await FindUserAsync(store, user.Id));

        var deactivated = rehashed with { Status = UserStatus.Deactivated, SecurityVersion = 4 };
        await WriteAsync(store, transaction => transaction.Users.UpdateAsync(deactivated, Ct));
        Assert.Equal(deactivated, await FindUserAsync(store, user.Id));
    }

    [Fact]
    public async Task A_store_that_was_not_migrated_is_not_ready_nor_is_one_without_a_server()
    {
        var database = await NewDatabaseAsync();
        var unmigrated = Track(new PostgresTesseraStore(database.ConnectionString));
        var unreachable = Track(new PostgresTesseraStore(new NpgsqlConnectionStringBuilder(database.ConnectionString)
        {
            Port = await UnusedPortAsync(),
            Timeout = 2,
        }.ConnectionString));

        Assert.False(await unmigrated.IsReadyAsync(Ct));
        Assert.False(await unreachable.IsReadyAsync(Ct));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Username=tessera;Database=tessera")]
    [InlineData("Host=localhost;NoSuchSetting=1")]
    public void A_connection_string_that_names_no_server_is_refused(string connectionString)
    {
        Assert.ThrowsAny<ArgumentException>(() => new PostgresTesseraStore(connectionString));
        Assert.ThrowsAny<ArgumentException>(() => new ServiceCollection().AddTesseraPostgresStore(connectionString));
    }

    [Fact]
    public async Task The_registration_adds_one_store_and_the_listener_as_a_hosted_service_and_keeps_a_store_already_there()
    {
        var (_, database) = await NewStoreAsync();
        var services = new ServiceCollection()
            .AddSingleton(new SessionCache())
            .AddTesseraPostgresStore(database.ConnectionString)
            .AddTesseraPostgresStore(database.ConnectionString);

        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<ITesseraStore>();
            Assert.IsType<PostgresTesseraStore>(store);
            Assert.Same(store, provider.GetRequiredService<ITesseraStore>());
            Assert.True(await store.IsReadyAsync(Ct));
            var hosted = Assert.Single(provider.GetServices<IHostedService>());
            Assert.Same(provider.GetRequiredService<PostgresChangeListener>(), hosted);
        }

        var existing = Track(new PostgresTesseraStore(database.ConnectionString));
        var withExisting = new ServiceCollection()
            .AddSingleton<ITesseraStore>(existing)
            .AddTesseraPostgresStore(database.ConnectionString);
        await using var second = withExisting.BuildServiceProvider();
        Assert.Same(existing, second.GetRequiredService<ITesseraStore>());
    }

    [Fact]
    public async Task Migrating_logs_each_script_it_applies()
    {
        var database = await NewDatabaseAsync();
        var logger = new RecordingLogger<PostgresTesseraStore>();
        var store = Track(new PostgresTesseraStore(database.ConnectionString, logger));

        await store.MigrateAsync(Ct);
        await store.MigrateAsync(Ct);

        var applied = logger.Entries.Where(entry => entry.EventId == 1).Select(entry => entry.Message).ToList();
        Assert.Equal(PostgresMigrations.All.Count, applied.Count);
        Assert.All(PostgresMigrations.All.Zip(applied), pair => Assert.Contains(pair.First, pair.Second, StringComparison.Ordinal));
        Assert.Equal(2, logger.Entries.Count(entry => entry.EventId == 2));
        Assert.DoesNotContain(logger.Entries, entry => entry.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task A_session_token_is_stored_only_as_its_hash()
    {
        var (store, database) = await NewStoreAsync();
        var user = NewUser();
        var token = SecretTokens.Create(out var tokenHash);
        var session = NewSession(user.Id) with { TokenHash = tokenHash };
        await InsertAsync(store, user, session);

        Assert.Equal(tokenHash.ToArray(), await database.ScalarAsync("SELECT token_hash FROM sessions WHERE id = @id", ("id", session.Id)));
        Assert.Equal(0L, await database.ScalarAsync(
            "SELECT count(*) FROM sessions WHERE position(convert_to(@token, 'UTF8') IN token_hash) > 0 OR user_agent LIKE '%' || @token || '%'",
            ("token", token)));
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

    private static string ShortName(string resourceName) => resourceName["Tessera.Storage.Postgres.Migrations.".Length..];

    private static async Task<int> UnusedPortAsync()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await Task.Yield();
        return port;
    }

    private async Task<TestDatabase> NewDatabaseAsync()
    {
        var database = await server.CreateDatabaseAsync();
        _databases.Add(database);
        return database;
    }

    private async Task<(PostgresTesseraStore Store, TestDatabase Database)> NewStoreAsync()
    {
        var database = await NewDatabaseAsync();
        var store = Track(new PostgresTesseraStore(database.ConnectionString));
        await store.MigrateAsync(Ct);
        return (store, database);
    }

    private PostgresTesseraStore Track(PostgresTesseraStore store)
    {
        _stores.Add(store);
        return store;
    }
}
