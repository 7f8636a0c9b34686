using Tessera.Core.Accounts;
using Tessera.Core.Diagnostics;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Xunit;

namespace Tessera.Core.Tests.Sessions;

public sealed class SessionValidatorTests : IAsyncLifetime
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan Absolute = TimeSpan.FromHours(3);

    private CoreHarness _tessera = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() =>
        _tessera = await CoreHarness.StartAsync(o =>
        {
            o.Sessions.IdleTimeout = Idle;
            o.Sessions.AbsoluteLifetime = Absolute;
        }, cancellationToken: Ct);

    public ValueTask DisposeAsync() => _tessera.DisposeAsync();

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-a-token")]
    [InlineData("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task A_missing_or_malformed_token_is_unauthenticated(string? token)
    {
        var check = await _tessera.Validator.CheckAsync(token, Ct);

        Assert.Equal(SessionVerdictKind.Unauthenticated, check.Verdict.Kind);
        Assert.Null(check.Entry);
        Assert.False(check.Holds);
    }

    [Fact]
    public async Task A_well_formed_token_that_was_never_issued_is_unauthenticated()
    {
        var token = SecretTokens.Create(out _);

        var check = await _tessera.Validator.CheckAsync(token, Ct);

        Assert.Equal(SessionVerdictKind.Unauthenticated, check.Verdict.Kind);
        Assert.Null(check.Entry);
    }

    [Fact]
    public async Task The_token_a_login_returns_holds_and_names_its_session_and_user()
    {
        var user = await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);

        var check = await _tessera.Validator.CheckAsync(login.Token, Ct);

        Assert.Equal(SessionVerdict.Valid, check.Verdict);
        Assert.NotNull(check.Entry);
        Assert.Equal(login.Session.Id, check.Entry.Session.Id);
        Assert.Equal(user.Id, check.Entry.User.User.Id);
    }

    [Fact]
    public async Task A_second_check_is_answered_from_memory_without_reading_the_store()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        var first = await _tessera.Validator.CheckAsync(login.Token, Ct);
        var (hits, misses) = (_tessera.Count(TesseraMetrics.CacheHits), _tessera.Count(TesseraMetrics.CacheMisses));

        // Behind the services' back: the row is gone, so only memory can still answer "valid".
        await DeleteSessionRowAsync(login.Session.Id);
        var second = await _tessera.Validator.CheckAsync(login.Token, Ct);

        Assert.True(first.Holds);
        Assert.True(second.Holds);
        Assert.Equal(hits + 1, _tessera.Count(TesseraMetrics.CacheHits));
        Assert.Equal(misses, _tessera.Count(TesseraMetrics.CacheMisses));
        Assert.Same(first.Entry, second.Entry);

        // An invalidation drops the copy: the next check reads the store, which no longer knows the token.
        _tessera.Cache.Handle(Invalidation.ForSessions(login.User.Id, [login.Session.Id], RevocationReason.TokenRevoked));
        var third = await _tessera.Validator.CheckAsync(login.Token, Ct);

        Assert.Equal(SessionVerdictKind.Unauthenticated, third.Verdict.Kind);
        Assert.Equal(misses + 1, _tessera.Count(TesseraMetrics.CacheMisses));
    }

    [Fact]
    public async Task Signing_out_ends_the_session_on_the_very_next_check_even_though_it_was_cached()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        var current = await _tessera.Validator.CheckAsync(login.Token, Ct);

        await _tessera.SignOut.LogoutAsync(current.Entry!, "192.0.2.1", Ct);
        var after = await _tessera.Validator.CheckAsync(login.Token, Ct);

        Assert.Equal(SessionVerdictKind.Revoked, after.Verdict.Kind);
        Assert.Equal(RevocationReason.SignedOut, after.Verdict.Reason);
    }

    [Fact]
    public async Task A_session_used_more_often_than_the_idle_timeout_keeps_holding_and_expires_once_left_unused()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);

        for (var i = 0; i < 6; i++)
        {
            _tessera.Clock.Advance(TimeSpan.FromMinutes(20));
            Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds, $"check {i + 1}");
        }

        Assert.True(_tessera.Clock.GetUtcNow() - login.Session.CreatedAt > Idle);
        _tessera.Clock.Advance(Idle - TimeSpan.FromMinutes(1));
        Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds);

        _tessera.Clock.Advance(Idle);
        var expired = await _tessera.Validator.CheckAsync(login.Token, Ct);

        Assert.Equal(SessionVerdict.Expired, expired.Verdict);
    }

    [Fact]
    public async Task A_session_expires_exactly_one_idle_timeout_after_its_last_use()
    {
        var login = await SignedInAndCheckedAsync();

        _tessera.Clock.Advance(Idle);

        Assert.Equal(SessionVerdictKind.Expired, (await _tessera.Validator.CheckAsync(login.Token, Ct)).Verdict.Kind);
    }

    [Fact]
    public async Task A_session_ends_at_its_absolute_lifetime_however_active_it_is()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);

        var step = TimeSpan.FromMinutes(20);
        var steps = (int)(Absolute / step);
        for (var i = 1; i < steps; i++)
        {
            _tessera.Clock.Advance(step);
            Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds, $"at {i * step}");
        }

        _tessera.Clock.Advance(step);
        Assert.Equal(login.Session.AbsoluteExpiresAt, _tessera.Clock.GetUtcNow());
        Assert.Equal(SessionVerdict.Expired, (await _tessera.Validator.CheckAsync(login.Token, Ct)).Verdict);
    }

    [Fact]
    public async Task Checks_do_not_write_last_active_until_the_activity_is_flushed()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        var loggedInAt = login.Session.LastActiveAt;

        _tessera.Clock.Advance(TimeSpan.FromMinutes(5));
        await _tessera.Validator.CheckAsync(login.Token, Ct);
        _tessera.Clock.Advance(TimeSpan.FromMinutes(5));
        var lastCheck = _tessera.Clock.GetUtcNow();
        var check = await _tessera.Validator.CheckAsync(login.Token, Ct);

        Assert.Equal(lastCheck, check.Entry!.LastActiveAt);
        Assert.Equal(loggedInAt, (await _tessera.ReadStoredSessionAsync(login.Session.Id, Ct))!.LastActiveAt);
        Assert.Equal(1, _tessera.Activity.PendingCount);

        await _tessera.Activity.FlushAsync(_tessera.Store, Ct);

        Assert.Equal(lastCheck, (await _tessera.ReadStoredSessionAsync(login.Session.Id, Ct))!.LastActiveAt);
        Assert.Equal(0, _tessera.Activity.PendingCount);
    }

    [Fact]
    public async Task A_flush_writes_in_batches_so_that_access_changes_get_the_store_between_them()
    {
        var logins = new List<LoginResult>();
        for (var i = 0; i < 5; i++)
        {
            await _tessera.RegisterAsync($"user{i}@example.com", cancellationToken: Ct);
            logins.Add(await _tessera.LoginAsync($"user{i}@example.com", cancellationToken: Ct));
        }

        _tessera.Clock.Advance(TimeSpan.FromMinutes(5));
        var checkedAt = _tessera.Clock.GetUtcNow();
        foreach (var login in logins)
        {
            await _tessera.Validator.CheckAsync(login.Token, Ct);
        }

        var store = new WriteCountingStore(_tessera.Store);
        _tessera.Activity.FlushBatchSize = 2;
        await _tessera.Activity.FlushAsync(store, Ct);

        Assert.Equal(3, store.Writes);
        Assert.Equal(0, _tessera.Activity.PendingCount);
        foreach (var login in logins)
        {
            Assert.Equal(checkedAt, (await _tessera.ReadStoredSessionAsync(login.Session.Id, Ct))!.LastActiveAt);
        }
    }

    /// <summary>The store, counting its write transactions.</summary>
    private sealed class WriteCountingStore(ITesseraStore inner) : ITesseraStore
    {
        public int Writes { get; private set; }

        public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

        public Task<IStoreTransaction> BeginWriteAsync(CancellationToken cancellationToken)
        {
            Writes++;
            return inner.BeginWriteAsync(cancellationToken);
        }

        public Task<IStoreTransaction> BeginReadAsync(CancellationToken cancellationToken) => inner.BeginReadAsync(cancellationToken);

        public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => inner.IsReadyAsync(cancellationToken);
    }

    [Fact]
    public async Task A_session_read_from_the_store_just_before_a_flush_still_gets_the_time_the_flush_wrote()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        _tessera.Clock.Advance(TimeSpan.FromMinutes(5));
        var checkedAt = _tessera.Clock.GetUtcNow();
        await _tessera.Validator.CheckAsync(login.Token, Ct);

        // A session list reads the row, a flush commits and forgets the pending time, then the list asks for it.
        var readBeforeTheFlush = (await _tessera.ReadStoredSessionAsync(login.Session.Id, Ct))!;
        await _tessera.Activity.FlushAsync(_tessera.Store, Ct);

        Assert.Equal(login.Session.LastActiveAt, readBeforeTheFlush.LastActiveAt);
        Assert.Equal(checkedAt, _tessera.Activity.LastActiveAt(readBeforeTheFlush));
    }

    [Fact]
    public async Task A_session_read_again_after_its_copy_was_dropped_keeps_the_activity_not_yet_flushed()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        _tessera.Clock.Advance(TimeSpan.FromMinutes(20));
        Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds);

        // Drop the copy (as any change to the user does) and come back 40 minutes after the login, 20 after the last use.
        _tessera.Cache.Handle(Invalidation.ForUser(login.User.Id, [], reason: null));
        _tessera.Clock.Advance(TimeSpan.FromMinutes(20));
        var misses = _tessera.Count(TesseraMetrics.CacheMisses);
        var check = await _tessera.Validator.CheckAsync(login.Token, Ct);

        Assert.Equal(misses + 1, _tessera.Count(TesseraMetrics.CacheMisses));
        Assert.True(check.Holds);
    }

    [Fact]
    public async Task A_distrusted_cache_reads_every_check_through_to_the_store_and_still_answers_right()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        await _tessera.Validator.CheckAsync(login.Token, Ct);

        _tessera.Cache.Distrust();
        var misses = _tessera.Count(TesseraMetrics.CacheMisses);
        Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds);
        Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds);
        Assert.Equal(misses + 2, _tessera.Count(TesseraMetrics.CacheMisses));

        _tessera.Cache.Trust();
        await _tessera.Validator.CheckAsync(login.Token, Ct);
        var hits = _tessera.Count(TesseraMetrics.CacheHits);
        Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds);
        Assert.Equal(hits + 1, _tessera.Count(TesseraMetrics.CacheHits));
    }

    [Fact]
    public async Task Idle_in_memory_but_used_on_another_node_the_store_decides_and_the_session_holds()
    {
        var login = await SignedInAndCheckedAsync();

        // Another node served the session a minute ago and wrote its last-active time behind; this node never saw it.
        _tessera.Clock.Advance(Idle + TimeSpan.FromMinutes(1));
        await using (var write = await _tessera.Store.BeginWriteAsync(Ct))
        {
            await write.Sessions.TouchAsync([new SessionActivity(login.Session.Id, _tessera.Clock.GetUtcNow() - TimeSpan.FromMinutes(1))], Ct);
            await write.CommitAsync(Ct);
        }

        var check = await _tessera.Validator.CheckAsync(login.Token, Ct);

        Assert.True(check.Holds, check.Verdict.ToString());
        Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds, "the fresher time is kept in memory");
    }

    [Fact]
    public async Task Idle_everywhere_the_session_is_expired_after_the_store_agrees()
    {
        var login = await SignedInAndCheckedAsync();

        _tessera.Clock.Advance(Idle + TimeSpan.FromMinutes(1));

        Assert.Equal(SessionVerdictKind.Expired, (await _tessera.Validator.CheckAsync(login.Token, Ct)).Verdict.Kind);
    }

    /// <summary>A new user's session, checked once, so that this node holds it in memory.</summary>
    private async Task<LoginResult> SignedInAndCheckedAsync()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds);
        return login;
    }

    private async Task DeleteSessionRowAsync(string sessionId)
    {
        await using var connection = _tessera.OpenDirectConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM sessions WHERE id = $id";
        command.Parameters.AddWithValue("$id", sessionId);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
    }
}
