using System.Collections.Concurrent;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Xunit;
using static Tessera.Storage.Sqlite.Tests.TestDatabaseDirectory;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>
/// The watcher on its own, against a real file written through plain connections (as another process would): what it
/// hands to the handlers, and what it does when the log lost rows or the file went away.
/// </summary>
public sealed class SqliteChangeWatcherTests : IAsyncDisposable
{
    private readonly TestDatabaseDirectory _directory = new();
    private readonly SessionCache _cache = new();
    private readonly RecordingHandler _handler = new();
    private readonly List<IAsyncDisposable> _cleanup = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Changes_committed_by_another_writer_reach_the_handlers_as_one_invalidation_per_user()
    {
        var (connectionString, watcher) = await StartAsync();
        using var raw = OpenRaw(connectionString);
        Execute(raw, InsertUser("usr_a") + InsertSession("usr_a", "ses_a"));
        await WaitUntilAsync(() => _handler.Received.Any(i => i.UserId == "usr_a"));
        _handler.Received.Clear();

        // One transaction: the user is banned, one session revoked with a reason, another deleted, and last-active moved.
        Execute(raw, InsertSession("usr_a", "ses_b"));
        Execute(raw, """
            BEGIN;
            UPDATE users SET banned = 1 WHERE id = 'usr_a';
            UPDATE sessions SET revoked_at = 1, revoke_reason = 'revoked_by_admin' WHERE id = 'ses_a';
            DELETE FROM sessions WHERE id = 'ses_b';
            COMMIT;
            """);
        await WaitUntilAsync(() => _handler.Received.Any(i => i.UserChanged));

        var invalidation = Assert.Single(_handler.Received);
        Assert.Equal("usr_a", invalidation.UserId);
        Assert.True(invalidation.UserChanged);
        Assert.Equal(new[] { "ses_a", "ses_b" }, invalidation.SessionIds.Order(StringComparer.Ordinal));
        Assert.Equal(RevocationReason.RevokedByAdmin, invalidation.Reason);
        Assert.True(watcher.IsWatching);
    }

    [Fact]
    public async Task Rows_that_vanished_before_the_watcher_read_them_empty_the_whole_cache_instead_of_being_missed()
    {
        var (connectionString, _) = await StartAsync();
        var resets = _cache.Resets;
        using var raw = OpenRaw(connectionString);

        // As if another process's watcher had trimmed the row before this one saw it: the id is used, the row is gone.
        Execute(raw, "BEGIN; " + InsertUser("usr_gone")
            + " DELETE FROM change_log WHERE user_id = 'usr_gone'; COMMIT;");

        await WaitUntilAsync(() => _cache.Resets > resets);
        Assert.DoesNotContain(_handler.Received, i => i.UserId == "usr_gone");
        Assert.True(_cache.IsTrusted);
    }

    [Fact]
    public async Task A_database_file_deleted_under_the_watcher_leaves_the_cache_distrusted()
    {
        var (connectionString, watcher) = await StartAsync();
        Assert.True(_cache.IsTrusted);

        File.Delete(DatabasePath(connectionString));

        await WaitUntilAsync(() => !_cache.IsTrusted);
        Assert.False(watcher.IsWatching);
        Assert.Contains(SqliteChangeWatcher.TrustSource, _cache.DistrustedBy);
    }

    [Fact]
    public async Task Applied_rows_older_than_the_retention_are_trimmed_and_newer_ones_kept()
    {
        var connectionString = _directory.NewConnectionString();
        var store = new SqliteTesseraStore(connectionString);
        await store.MigrateAsync(Ct);
        using var raw = OpenRaw(connectionString);
        Execute(raw, InsertUser("usr_old"));
        Execute(raw, "UPDATE change_log SET at = at - 3600 WHERE user_id = 'usr_old';");
        Execute(raw, InsertUser("usr_new"));

        var watcher = new SqliteChangeWatcher(connectionString, [_handler], _cache) { Retention = TimeSpan.FromMinutes(10) };
        await StartAsync(watcher);

        await WaitUntilAsync(() => (long)Scalar(raw, "SELECT count(*) FROM change_log WHERE user_id = 'usr_old'")! == 0);
        Assert.Equal(1L, Scalar(raw, "SELECT count(*) FROM change_log WHERE user_id = 'usr_new'"));
        store.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var item in _cleanup)
        {
            await item.DisposeAsync();
        }

        _directory.Dispose();
    }

    private async Task<(string ConnectionString, SqliteChangeWatcher Watcher)> StartAsync()
    {
        var connectionString = _directory.NewConnectionString();
        var store = new SqliteTesseraStore(connectionString);
        await store.MigrateAsync(Ct);
        store.Dispose();
        var watcher = new SqliteChangeWatcher(connectionString, [_cache, _handler], _cache);
        await StartAsync(watcher);
        return (connectionString, watcher);
    }

    private async Task StartAsync(SqliteChangeWatcher watcher)
    {
        _cleanup.Add(new Stopping(watcher));
        await watcher.StartAsync(Ct);
        await WaitUntilAsync(() => watcher.IsWatching);
    }

    private static string InsertUser(string id) => $"""
        INSERT INTO users (id, email, display_name, password_hash, role, status, banned, banned_until, ban_reason, security_version, created_at, updated_at)
        VALUES ('{id}', '{id}@example.test', 'Someone', NULL, 'user', 'active', 0, NULL, NULL, 1, 0, 0);
        """;

    private static string InsertSession(string userId, string id) => $"""
        INSERT INTO sessions (id, token_hash, user_id, device_platform, created_at, last_active_at, absolute_expires_at)
        VALUES ('{id}', randomblob(32), '{userId}', 'web', 0, 0, 4102444800000);
        """;

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not come true within 10 s.");
            await Task.Delay(10, Ct);
        }
    }

    private sealed class RecordingHandler : IInvalidationHandler
    {
        public ConcurrentQueue<Invalidation> Received { get; } = new();

        public void Handle(Invalidation invalidation) => Received.Enqueue(invalidation);
    }

    private sealed class Stopping(SqliteChangeWatcher watcher) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await watcher.StopAsync(CancellationToken.None);
            watcher.Dispose();
        }
    }
}
