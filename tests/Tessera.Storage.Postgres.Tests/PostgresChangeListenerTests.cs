using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Storage.Specification;
using Xunit;
using static Tessera.Storage.Specification.TestData;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// Changes written straight into PostgreSQL reach the node: the triggers NOTIFY, the listener turns each notification
/// into an invalidation, and a lost connection makes the cache distrusted until LISTEN holds again.
/// </summary>
public sealed class PostgresChangeListenerTests(PostgresServer server) : IAsyncDisposable
{
    private static readonly TimeSpan Promptly = TimeSpan.FromSeconds(1);

    private readonly List<IAsyncDisposable> _cleanup = [];

    [Fact]
    public async Task A_direct_update_of_a_users_status_reaches_the_handlers_within_a_second()
    {
        var node = await StartAsync();
        var user = NewUser();
        await InsertAsync(node.Store, user);
        await node.Handler.WaitForAsync(i => i.UserId == user.Id && i.UserChanged, Promptly); // the insert
        node.Handler.Clear();

        var stopwatch = Stopwatch.StartNew();
        await node.Database.ExecuteAsync("UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id));
        var invalidation = await node.Handler.WaitForAsync(i => i.UserId == user.Id, Promptly);

        Assert.True(stopwatch.Elapsed < Promptly, $"took {stopwatch.Elapsed}");
        Assert.True(invalidation.UserChanged);
        Assert.Empty(invalidation.SessionIds);
        Assert.Null(invalidation.Reason);
    }

    [Fact]
    public async Task A_direct_revocation_of_a_session_reaches_the_handlers_with_its_id_and_reason()
    {
        var node = await StartAsync();
        var user = NewUser();
        var session = NewSession(user.Id);
        var other = NewSession(user.Id);
        await InsertAsync(node.Store, user, session, other);

        await node.Database.ExecuteAsync(
            "UPDATE sessions SET revoked_at = now(), revoked_by = 'dba', revoke_reason = 'revoked_by_admin' WHERE id = @id", ("id", session.Id));
        var invalidation = await node.Handler.WaitForAsync(i => i.SessionIds.Contains(session.Id), Promptly);

        Assert.Equal(user.Id, invalidation.UserId);
        Assert.Equal([session.Id], invalidation.SessionIds);
        Assert.Equal(RevocationReason.RevokedByAdmin, invalidation.Reason);
        Assert.False(invalidation.UserChanged);
        Assert.DoesNotContain(node.Handler.Received, i => i.SessionIds.Contains(other.Id));
    }

    [Fact]
    public async Task A_last_activity_update_alone_notifies_nobody()
    {
        var node = await StartAsync();
        var user = NewUser();
        var session = NewSession(user.Id);
        var marker = NewUser();
        await InsertAsync(node.Store, user, session);
        await InsertAsync(node.Store, marker);
        await node.Handler.WaitForAsync(i => i.UserId == marker.Id, Promptly);
        node.Handler.Clear();

        await node.Database.ExecuteAsync("UPDATE sessions SET last_active_at = last_active_at + interval '1 minute' WHERE id = @id", ("id", session.Id));
        await WriteAsync(node.Store, transaction => transaction.Sessions.TouchAsync([new SessionActivity(session.Id, T0.AddHours(1))], Ct));
        // Notifications arrive in commit order: once the marker's is here, any for the updates above would be too.
        await node.Database.ExecuteAsync("UPDATE users SET display_name = 'Marker' WHERE id = @id", ("id", marker.Id));
        await node.Handler.WaitForAsync(i => i.UserId == marker.Id, Promptly);

        Assert.Equal([marker.Id], node.Handler.Received.Select(i => i.UserId));
        Assert.Equal(T0.AddHours(1), (await FindSessionAsync(node.Store, session.Id))!.LastActiveAt);
    }

    [Fact]
    public async Task Tesseras_own_revocations_and_deleted_rows_are_heard_too()
    {
        var node = await StartAsync();
        var user = NewUser();
        var first = NewSession(user.Id);
        var second = NewSession(user.Id);
        await InsertAsync(node.Store, user, first, second);

        await WriteAsync(node.Store, transaction => transaction.Sessions.RevokeAsync(
            user.Id, RevocationScope.Only(first.Id), new SessionRevocation(T0, user.Id, RevocationReason.SignedOut), Ct));
        var revoked = await node.Handler.WaitForAsync(i => i.SessionIds.Contains(first.Id), Promptly);
        await node.Database.ExecuteAsync("DELETE FROM sessions WHERE id = @id", ("id", second.Id));
        var deleted = await node.Handler.WaitForAsync(i => i.SessionIds.Contains(second.Id), Promptly);

        Assert.Equal(RevocationReason.SignedOut, revoked.Reason);
        Assert.Null(deleted.Reason);
        Assert.Equal(user.Id, deleted.UserId);
    }

    [Fact]
    public async Task A_direct_status_change_is_a_new_security_version_so_a_cached_copy_is_told_apart()
    {
        var node = await StartAsync();
        var user = NewUser() with { SecurityVersion = 4 };
        var session = NewSession(user.Id);
        var key = NewKey();
        await InsertAsync(node.Store, user, session);
        await node.Handler.WaitForAsync(i => i.UserId == user.Id, Promptly); // the insert
        node.Handler.Clear();
        var cached = node.Cache.Add(key, session, user, session.LastActiveAt, node.Cache.Epoch);
        Assert.True(node.Cache.TryGet(key, out _));

        await node.Database.ExecuteAsync("UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id));
        await node.Handler.WaitForAsync(i => i.UserId == user.Id && i.UserChanged, Promptly);

        Assert.True(cached.IsStale);
        Assert.False(node.Cache.TryGet(key, out _));
        Assert.Equal(5, (await FindUserAsync(node.Store, user.Id))!.SecurityVersion);
    }

    [Fact]
    public async Task Emptying_the_sessions_table_drops_everything_the_cache_holds()
    {
        var node = await StartAsync();
        var user = NewUser();
        var session = NewSession(user.Id);
        var key = NewKey();
        await InsertAsync(node.Store, user, session);
        node.Cache.Add(key, session, user, session.LastActiveAt, node.Cache.Epoch);
        Assert.Equal(1, node.Cache.Count);

        await node.Database.ExecuteAsync("TRUNCATE sessions");
        await WaitUntilAsync(() => node.Cache.Count == 0, Promptly);

        Assert.True(node.Cache.IsTrusted);
        Assert.False(node.Cache.TryGet(key, out _));
    }

    [Fact]
    public async Task The_cache_is_distrusted_from_the_start_until_listen_holds_and_again_once_the_listener_stops()
    {
        var database = await server.CreateDatabaseAsync();
        _cleanup.Add(database);
        var store = new PostgresTesseraStore(database.ConnectionString);
        _cleanup.Add(store);
        await store.MigrateAsync(Ct);
        var cache = new SessionCache();
        var listener = new PostgresChangeListener(database.ConnectionString, [cache], cache);
        var states = new ConcurrentQueue<(bool Listening, bool Trusted)>();
        listener.ListeningChanged += listening => states.Enqueue((listening, cache.IsTrusted));

        await listener.StartAsync(Ct);
        await WaitUntilAsync(() => listener.IsListening, TimeSpan.FromSeconds(10));
        await listener.StopAsync(Ct);
        listener.Dispose();

        Assert.Equal([(false, false), (true, true), (false, false)], states);
        Assert.False(cache.IsTrusted);
    }

    [Fact]
    public async Task A_listener_that_cannot_reach_the_server_keeps_the_cache_distrusted()
    {
        var cache = new SessionCache();
        var unreachable = new NpgsqlConnectionStringBuilder(server.AdminConnectionString) { Port = await UnusedPortAsync(), Timeout = 1 }.ConnectionString;
        var logger = new RecordingLogger<PostgresChangeListener>();
        using var listener = new PostgresChangeListener(unreachable, [cache], cache, logger);

        await listener.StartAsync(Ct);
        await WaitUntilAsync(() => logger.Entries.Count(e => e.EventId == 22) >= 2, TimeSpan.FromSeconds(10));

        Assert.False(listener.IsListening);
        Assert.False(cache.IsTrusted);
        await listener.StopAsync(Ct);
    }

    [Fact]
    public async Task A_killed_listener_connection_distrusts_the_cache_at_once_and_trusts_it_again_only_after_listening_again()
    {
        var node = await StartAsync();
        var user = NewUser();
        var session = NewSession(user.Id);
        var key = NewKey();
        await InsertAsync(node.Store, user, session);
        node.Cache.Add(key, session, user, session.LastActiveAt, node.Cache.Epoch);
        var states = new ConcurrentQueue<(bool Listening, bool Trusted, int Cached)>();
        node.Listener.ListeningChanged += listening => states.Enqueue((listening, node.Cache.IsTrusted, node.Cache.Count));

        var killed = await node.Database.ScalarAsync(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @name AND datname = current_database()",
            ("name", PostgresChangeListener.ApplicationName));
        Assert.Equal(1L, killed);
        await WaitUntilAsync(() => states.Count >= 2, TimeSpan.FromSeconds(10));

        // Lost: distrusted and emptied before anything else; back: trusted only once LISTEN held again.
        Assert.Equal([(false, false, 0), (true, true, 0)], states);
        Assert.True(node.Listener.IsListening);
        Assert.False(node.Cache.TryGet(key, out _));
        Assert.Equal(1L, await node.Database.ScalarAsync(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = @name AND datname = current_database()",
            ("name", PostgresChangeListener.ApplicationName)));

        // And notifications flow again.
        node.Handler.Clear();
        await node.Database.ExecuteAsync(
            "UPDATE sessions SET revoked_at = now(), revoke_reason = 'revoked_by_admin' WHERE id = @id", ("id", session.Id));
        var invalidation = await node.Handler.WaitForAsync(i => i.SessionIds.Contains(session.Id), Promptly);
        Assert.Equal(RevocationReason.RevokedByAdmin, invalidation.Reason);
    }

    [Fact]
    public async Task A_listener_whose_server_stops_answering_notices_it_by_pinging_and_comes_back_on_a_new_connection()
    {
        var node = await StartAsync(pingInterval: TimeSpan.FromMilliseconds(200), pingTimeout: TimeSpan.FromSeconds(1));
        var user = NewUser();
        await InsertAsync(node.Store, user);
        await node.Handler.WaitForAsync(i => i.UserId == user.Id, Promptly); // the insert
        await Task.Delay(600, Ct); // a few quiet pings: nothing is lost while the server answers them
        Assert.True(node.Listener.IsListening);
        Assert.True(node.Cache.IsTrusted);
        var states = new ConcurrentQueue<(bool Listening, bool Trusted)>();
        node.Listener.ListeningChanged += listening => states.Enqueue((listening, node.Cache.IsTrusted));

        // The listener's server process freezes: its socket stays open, but nothing comes back (as on a dead network).
        var pid = Convert.ToInt32(await node.Database.ScalarAsync(
            "SELECT pid FROM pg_stat_activity WHERE application_name = @name AND datname = current_database()",
            ("name", PostgresChangeListener.ApplicationName)), System.Globalization.CultureInfo.InvariantCulture);
        Signal("STOP", pid);
        try
        {
            await WaitUntilAsync(() => states.Count >= 2, TimeSpan.FromSeconds(10));
        }
        finally
        {
            Signal("CONT", pid);
        }

        Assert.Equal([(false, false), (true, true)], states);
        node.Handler.Clear();
        await node.Database.ExecuteAsync("UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id));
        await node.Handler.WaitForAsync(i => i.UserId == user.Id && i.UserChanged, Promptly);
    }

    [Fact]
    public async Task A_handler_that_throws_does_not_keep_the_others_from_hearing()
    {
        var database = await server.CreateDatabaseAsync();
        _cleanup.Add(database);
        var store = new PostgresTesseraStore(database.ConnectionString);
        _cleanup.Add(store);
        await store.MigrateAsync(Ct);
        var cache = new SessionCache();
        var handler = new RecordingHandler();
        var listener = new PostgresChangeListener(database.ConnectionString, [new ThrowingHandler(), handler, cache], cache);
        _cleanup.Add(new Stopper(listener));
        await listener.StartAsync(Ct);
        await WaitUntilAsync(() => listener.IsListening, TimeSpan.FromSeconds(10));
        var user = NewUser();

        await InsertAsync(store, user);
        await handler.WaitForAsync(i => i.UserId == user.Id, Promptly); // the insert
        handler.Clear();
        await database.ExecuteAsync("UPDATE users SET banned = true WHERE id = @id", ("id", user.Id));
        await handler.WaitForAsync(i => i.UserId == user.Id, Promptly);

        Assert.True(listener.IsListening);
    }

    [Theory]
    [InlineData("""{"table":"users","userId":"usr_1"}""", "usr_1", null, null, true)]
    [InlineData("""{"table" : "sessions", "userId" : "usr_1", "sessionId" : "ses_1", "reason" : "user_banned"}""", "usr_1", "ses_1", RevocationReason.UserBanned, false)]
    [InlineData("""{"table":"sessions","userId":"usr_1","sessionId":"ses_1","reason":null}""", "usr_1", "ses_1", null, false)]
    [InlineData("""{"table":"sessions","userId":"usr_1","sessionId":"ses_1","reason":"from_the_future"}""", "usr_1", "ses_1", null, false)]
    public void A_notification_becomes_the_invalidation_it_stands_for(
        string payload, string userId, string? sessionId, RevocationReason? reason, bool userChanged)
    {
        Assert.Equal(Internal.ChangeKind.Row, Internal.ChangeNotification.Parse(payload, out var invalidation));
        Assert.Equal(userId, invalidation!.UserId);
        string[] sessionIds = sessionId is null ? [] : [sessionId];
        Assert.Equal(sessionIds, invalidation.SessionIds);
        Assert.Equal(reason, invalidation.Reason);
        Assert.Equal(userChanged, invalidation.UserChanged);
    }

    [Theory]
    [InlineData("""{"table":"users","all":true}""", true)]
    [InlineData("""{"table":"sessions","all":true}""", true)]
    [InlineData("""{"table":"sessions","userId":"usr_1"}""", false)]
    [InlineData("""{"table":"users"}""", false)]
    [InlineData("""{"table":"audit_events","userId":"usr_1"}""", false)]
    [InlineData("""["users"]""", false)]
    [InlineData("not json", false)]
    [InlineData("", false)]
    public void Other_notifications_drop_everything_or_are_not_understood(string payload, bool all)
    {
        var expected = all ? Internal.ChangeKind.All : Internal.ChangeKind.Unknown;
        Assert.Equal(expected, Internal.ChangeNotification.Parse(payload, out var invalidation));
        Assert.Null(invalidation);
    }

    [Fact]
    public void Reconnecting_backs_off_from_100_ms_to_5_s()
    {
        Assert.Equal(
            [100, 200, 400, 800, 1600, 3200, 5000, 5000],
            Enumerable.Range(1, 8).Select(attempt => (int)PostgresChangeListener.RetryDelay(attempt).TotalMilliseconds));
        Assert.Equal(TimeSpan.FromSeconds(5), PostgresChangeListener.RetryDelay(1000));
    }

    public async ValueTask DisposeAsync()
    {
        // Listeners first, then stores, then databases: in the reverse order of creation.
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            await _cleanup[i].DisposeAsync();
        }
    }

    /// <summary>A cache key as a presented token gives one (the cache is keyed by the token's secret, which a session does not keep).</summary>
    private static TokenKey NewKey()
    {
        Assert.True(SecretTokens.TryKey(SecretTokens.Create(out _), out var key));
        return key;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
            {
                Assert.Fail($"Not so within {timeout}.");
            }

            await Task.Delay(10, Ct);
        }
    }

    private static async Task<int> UnusedPortAsync()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await Task.Yield();
        return port;
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {pid}") { RedirectStandardError = true })!;
        kill.WaitForExit();
        Assert.True(kill.ExitCode == 0, $"kill -{signal} {pid} failed: {kill.StandardError.ReadToEnd()}");
    }

    /// <summary>A node: a migrated store on a fresh database, a cache, a recording handler and a started listener.</summary>
    private async Task<Node> StartAsync(TimeSpan? pingInterval = null, TimeSpan? pingTimeout = null)
    {
        var database = await server.CreateDatabaseAsync();
        _cleanup.Add(database);
        var store = new PostgresTesseraStore(database.ConnectionString);
        _cleanup.Add(store);
        await store.MigrateAsync(Ct);
        var cache = new SessionCache();
        var handler = new RecordingHandler();
        var listener = new PostgresChangeListener(database.ConnectionString, [cache, handler], cache)
        {
            PingInterval = pingInterval ?? TimeSpan.FromSeconds(5),
            PingTimeout = pingTimeout ?? TimeSpan.FromSeconds(5),
        };
        _cleanup.Add(new Stopper(listener));
        await listener.StartAsync(Ct);
        await WaitUntilAsync(() => listener.IsListening && cache.IsTrusted, TimeSpan.FromSeconds(10));
        return new Node(database, store, cache, handler, listener);
    }

    private sealed record Node(
        TestDatabase Database, PostgresTesseraStore Store, SessionCache Cache, RecordingHandler Handler, PostgresChangeListener Listener);

    private sealed class Stopper(PostgresChangeListener listener) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await listener.StopAsync(CancellationToken.None);
            listener.Dispose();
        }
    }

    private sealed class ThrowingHandler : IInvalidationHandler
    {
        public void Handle(Invalidation invalidation) => throw new InvalidOperationException("A broken handler.");
    }
}

/// <summary>Keeps every invalidation it is handed, and lets a test wait for one.</summary>
public sealed class RecordingHandler : IInvalidationHandler
{
    private readonly Lock _lock = new();
    private readonly List<Invalidation> _received = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<Invalidation> Received
    {
        get
        {
            lock (_lock)
            {
                return [.. _received];
            }
        }
    }

    public void Handle(Invalidation invalidation)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _received.Add(invalidation);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.SetResult();
    }

    public void Clear()
    {
        lock (_lock)
        {
            _received.Clear();
        }
    }

    /// <summary>The first invalidation received (before or after the call) that matches; fails after <paramref name="timeout"/>.</summary>
    public async Task<Invalidation> WaitForAsync(Func<Invalidation, bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var found = _received.FirstOrDefault(match);
                if (found is not null)
                {
                    return found;
                }

                changed = _changed.Task;
            }

            var left = timeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                Assert.Fail($"No matching invalidation within {timeout}; received: {string.Join(", ", Received)}");
            }

            await Task.WhenAny(changed, Task.Delay(left, TestContext.Current.CancellationToken));
        }
    }
}
