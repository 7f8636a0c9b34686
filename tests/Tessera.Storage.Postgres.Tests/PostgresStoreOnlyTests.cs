using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Tessera.Storage.Postgres.Internal;
using Tessera.Storage.Relational.Internal;
using Xunit;
using static Tessera.Storage.Specification.TestData;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// What only the PostgreSQL store promises: nodes migrating at once, its indexes, its triggers and its times. What
/// every store promises about its database (migrations, schema guards, registration) is <see cref="PostgresStoreDatabaseTests"/>.
/// </summary>
public sealed class PostgresStoreOnlyTests(PostgresServer server) : IAsyncDisposable
{
    private readonly List<PostgresTesseraStore> _stores = [];
    private readonly List<TestDatabase> _databases = [];

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
    public async Task The_scale_seeds_batched_inserts_write_the_rows_one_insert_writes()
    {
        // bench/Tessera.ScaleSeed writes its million sessions through InsertManyAsync (one NpgsqlBatch a thousand
        // statements); its figures hold only if the rows are those InsertAsync writes. Every field set, and nulls.
        var (store, database) = await NewStoreAsync();
        var full = NewUser() with { Role = UserRole.Admin, Banned = true, BannedUntil = T0.AddDays(1), BanReason = "spam", SecurityVersion = 7 };
        var bare = NewUser() with { PasswordHash = null, Status = UserStatus.Deactivated };
        var fullSession = NewSession(full.Id) with
        {
            RevokedAt = T0.AddMinutes(5), RevokedBy = "usr_admin", RevokeReason = RevocationReason.RevokedByAdmin,
        };
        var bareSession = NewSession(bare.Id, device: new DeviceInfo(null, DevicePlatform.Api, null, null, null)) with { IpAddress = null };
        User[] singles = [full, bare];
        Session[] singleSessions = [fullSession, bareSession, NewSession(full.Id)];
        await WriteAsync(store, async transaction =>
        {
            foreach (var user in singles)
            {
                Assert.True(await transaction.Users.InsertAsync(user, Ct));
            }

            foreach (var session in singleSessions)
            {
                await transaction.Sessions.InsertAsync(session, Ct);
            }
        });

        // The same rows under other ids (and an email that is taken, which is refused and writes nothing), in batches
        // of two, so that the last batch is a short one.
        var copies = singles.Select(user => user with { Id = NewUser().Id, Email = "copy." + user.Email }).ToArray();
        var copyOf = singles.Zip(copies).ToDictionary(pair => pair.First.Id, pair => pair.Second.Id, StringComparer.Ordinal);
        var sessionCopies = singleSessions.Select(session => NewSession(copyOf[session.UserId]) with
        {
            Device = session.Device, IpAddress = session.IpAddress, CreatedAt = session.CreatedAt, LastActiveAt = session.LastActiveAt,
            AbsoluteExpiresAt = session.AbsoluteExpiresAt, RevokedAt = session.RevokedAt, RevokedBy = session.RevokedBy,
            RevokeReason = session.RevokeReason, ClientId = session.ClientId,
        }).ToArray();
        var taken = NewUser(email: full.Email);
        bool[] inserted = [];
        await WriteAsync(store, async transaction =>
        {
            inserted = await ((RelationalUserStore)transaction.Users).InsertManyAsync([copies[0], taken, copies[1]], batchSize: 2, Ct);
            await ((RelationalSessionStore)transaction.Sessions).InsertManyAsync(sessionCopies, batchSize: 2, Ct);
        });

        Assert.Equal([true, false, true], inserted);
        Assert.Null(await FindUserAsync(store, taken.Id));
        for (var i = 0; i < singles.Length; i++)
        {
            Assert.Equal(copies[i], await FindUserAsync(store, copies[i].Id));
            Assert.Equal(
                await database.ScalarAsync("SELECT (to_jsonb(u) - 'id' - 'email')::text FROM users AS u WHERE id = @id", ("id", singles[i].Id)),
                await database.ScalarAsync("SELECT (to_jsonb(u) - 'id' - 'email')::text FROM users AS u WHERE id = @id", ("id", copies[i].Id)));
        }

        for (var i = 0; i < singleSessions.Length; i++)
        {
            const string row = "SELECT (to_jsonb(s) - 'id' - 'token_hash' - 'user_id')::text FROM sessions AS s WHERE id = @id";
            Assert.Equal(sessionCopies[i], await FindSessionAsync(store, sessionCopies[i].Id));
            Assert.Equal(await database.ScalarAsync(row, ("id", singleSessions[i].Id)), await database.ScalarAsync(row, ("id", sessionCopies[i].Id)));
        }
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
