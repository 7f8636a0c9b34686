using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Server.Tests.Infrastructure;
using Tessera.Storage.Sqlite;

namespace Tessera.Server.Tests.Scenarios;

/// <summary>
/// "A ban made in the database kept working until a cache expired": a change written straight into the SQLite file by
/// another process (the sqlite3 shell here) holds on the very next check, and open event streams hear of it, exactly as
/// if it had been made through the API. A real server on a loopback port; its file changed by a real sqlite3 process.
/// </summary>
public sealed class DirectSqliteChangeScenarios(SharedLoopbackApp shared) : IClassFixture<SharedLoopbackApp>
{
    private readonly TesseraApp _app = shared.App;

    [Theory]
    [InlineData("UPDATE users SET status = 'deactivated' WHERE id = '{user}'", "account_deactivated", "user_deactivated")]
    [InlineData("UPDATE users SET banned = 1 WHERE id = '{user}'", "account_banned", "user_banned")]
    [InlineData("UPDATE users SET banned = 1, banned_until = {inAnHour} WHERE id = '{user}'", "account_banned", "user_banned")]
    [InlineData("DELETE FROM sessions WHERE id = '{session}'", "unauthenticated", "token_revoked")]
    [InlineData("UPDATE sessions SET revoked_at = {now} WHERE id = '{session}'", "session_revoked", "token_revoked")]
    [InlineData("UPDATE sessions SET revoked_at = {now}, revoke_reason = 'revoked_by_admin' WHERE id = '{session}'", "session_revoked", "revoked_by_admin")]
    public async Task A_change_committed_by_another_process_is_refused_on_the_first_check_and_ends_open_streams_with_the_reason(
        string sql, string code, string reason)
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await WarmAsync(client);
        await using var stream = await EventStreamClient.ConnectAsync(client);

        await Sqlite3.ExecuteAsync(_app.DatabasePath, Fill(sql, user));

        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, code);
        var revoked = await stream.ExpectRevokedAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(user.Session.SessionId, revoked.Str("sessionId"));
        Assert.Equal(reason, revoked.Str("reason"));
    }

    [Theory]
    [InlineData("UPDATE users SET banned = 1 WHERE id = '{user}'", "UPDATE users SET banned = 0 WHERE id = '{user}'")]
    [InlineData("UPDATE users SET banned = 1, banned_until = {inAnHour} WHERE id = '{user}'", "UPDATE users SET banned = 0, banned_until = NULL WHERE id = '{user}'")]
    [InlineData("UPDATE users SET status = 'deactivated' WHERE id = '{user}'", "UPDATE users SET status = 'active' WHERE id = '{user}'")]
    [InlineData("UPDATE sessions SET revoked_at = {now}, revoke_reason = 'revoked_by_admin' WHERE id = '{session}'", "UPDATE sessions SET revoked_at = NULL, revoke_reason = NULL WHERE id = '{session}'")]
    public async Task A_change_committed_by_another_process_that_lets_a_session_hold_again_holds_on_the_first_check(string end, string restore)
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await Sqlite3.ExecuteAsync(_app.DatabasePath, Fill(end, user));
        for (var i = 0; i < 3; i++)
        {
            // Refused, and the refusal is what the node now holds in memory.
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.Get("/v1/auth/session")).StatusCode);
        }

        await Sqlite3.ExecuteAsync(_app.DatabasePath, Fill(restore, user));

        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task An_unban_committed_by_another_process_lets_the_user_sign_in_and_use_the_session_at_once()
    {
        var user = await _app.NewUserAsync();
        await Sqlite3.ExecuteAsync(_app.DatabasePath, Fill("UPDATE users SET banned = 1 WHERE id = '{user}'", user));
        using var anonymous = _app.Anonymous();
        await (await anonymous.AttemptLogin(user.Email, TesseraApp.DefaultClientIp, TesseraApp.Password)).AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");

        await Sqlite3.ExecuteAsync(_app.DatabasePath, Fill("UPDATE users SET banned = 0 WHERE id = '{user}'", user));

        var signedIn = await _app.LoginAsync(user.Email);
        using var client = _app.WithToken(signedIn.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Activity_written_behind_by_Tessera_itself_records_no_change()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await WarmAsync(client);
        var before = await ChangeCountAsync(user);

        await Sqlite3.ExecuteAsync(_app.DatabasePath, Fill("UPDATE sessions SET last_active_at = last_active_at + 1000 WHERE id = '{session}'", user));

        Assert.Equal(before, await ChangeCountAsync(user));
    }

    private async Task<int> ChangeCountAsync(TestUser user) => int.Parse(
        await Sqlite3.ExecuteAsync(_app.DatabasePath, Fill("SELECT count(*) FROM change_log WHERE user_id = '{user}'", user)), CultureInfo.InvariantCulture);

    /// <summary>Three checks, so that the session and its user are held in memory.</summary>
    internal static async Task WarmAsync(HttpClient client)
    {
        for (var i = 0; i < 3; i++)
        {
            await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        }
    }

    internal static string Fill(string sql, TestUser user) => sql
        .Replace("{user}", user.Id, StringComparison.Ordinal)
        .Replace("{session}", user.Session.SessionId, StringComparison.Ordinal)
        .Replace("{now}", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{inAnHour}", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
}

/// <summary>The watcher that carries direct changes to the cache fails, stops or falls behind: checks stay right.</summary>
public sealed class SqliteWatcherFaultScenarios
{
    [Fact]
    public async Task While_the_watcher_is_stopped_checks_read_through_to_the_file_and_stay_right()
    {
        await using var app = new TesseraApp(loopback: true);
        var user = await app.NewUserAsync();
        using var client = app.WithToken(user.Token);
        await DirectSqliteChangeScenarios.WarmAsync(client);
        var watcher = app.Services.GetRequiredService<SqliteChangeWatcher>();
        var cache = app.Services.GetRequiredService<SessionCache>();

        await watcher.StopAsync(TestContext.Current.CancellationToken);
        Assert.False(cache.IsTrusted);
        await Sqlite3.ExecuteAsync(app.DatabasePath, DirectSqliteChangeScenarios.Fill("UPDATE users SET status = 'deactivated' WHERE id = '{user}'", user));

        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_deactivated");
        await Sqlite3.ExecuteAsync(app.DatabasePath, DirectSqliteChangeScenarios.Fill("UPDATE users SET status = 'active' WHERE id = '{user}'", user));
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();

        // Started again, it trusts the cache once it knows where the file's log stands.
        await watcher.StartAsync(TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => cache.IsTrusted);
        await Sqlite3.ExecuteAsync(app.DatabasePath, DirectSqliteChangeScenarios.Fill("UPDATE users SET banned = 1 WHERE id = '{user}'", user));
        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_banned");
    }

    [Fact]
    public async Task While_the_watcher_is_behind_the_file_checks_read_through_to_it_and_stay_right()
    {
        var stall = new StallingHandler();
        await using var app = new TesseraApp(loopback: true, services: services => services.AddSingleton<IInvalidationHandler>(stall));
        var first = await app.NewUserAsync();
        var second = await app.NewUserAsync();
        using var firstClient = app.WithToken(first.Token);
        using var secondClient = app.WithToken(second.Token);
        await DirectSqliteChangeScenarios.WarmAsync(firstClient);
        await DirectSqliteChangeScenarios.WarmAsync(secondClient);
        var cache = app.Services.GetRequiredService<SessionCache>();
        await WaitUntilAsync(cache.IsCurrent);

        // The watcher gets stuck in a handler on the next change it applies, and stays stuck.
        stall.Arm();
        try
        {
            await Sqlite3.ExecuteAsync(app.DatabasePath, DirectSqliteChangeScenarios.Fill("UPDATE users SET display_name = 'changed' WHERE id = '{user}'", first));
            await stall.Entered.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            await Sqlite3.ExecuteAsync(app.DatabasePath, DirectSqliteChangeScenarios.Fill("UPDATE users SET status = 'deactivated' WHERE id = '{user}'", second));

            Assert.True(cache.IsTrusted, "the watcher has not failed: it is only behind");
            Assert.False(cache.IsCurrent());
            await (await secondClient.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_deactivated");
            await (await firstClient.Get("/v1/auth/session")).AssertOkJsonAsync();
        }
        finally
        {
            stall.Release();
        }

        await WaitUntilAsync(cache.IsCurrent);
        await (await secondClient.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_deactivated");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not come true within 10 s.");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Once armed, blocks the next invalidation it is handed until released: a watcher stuck mid-way.</summary>
    private sealed class StallingHandler : IInvalidationHandler
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _released = new(initialState: true);
        private int _armed;

        public Task Entered => _entered.Task;

        public void Arm()
        {
            _released.Reset();
            Volatile.Write(ref _armed, 1);
        }

        public void Release() => _released.Set();

        public void Handle(Invalidation invalidation)
        {
            if (Interlocked.Exchange(ref _armed, 0) == 1)
            {
                _entered.TrySetResult();
                _released.Wait(TimeSpan.FromSeconds(30));
            }
        }
    }
}
