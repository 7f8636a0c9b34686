using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Sessions;

/// <summary>Ordering and expiry, on a clock the tests move.</summary>
public sealed class SessionTimeTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TesseraApp _app;

    public SessionTimeTests() => _app = new TesseraApp(clock: _clock);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task The_list_is_ordered_most_recently_active_first()
    {
        var email = TesseraApp.NewEmail();
        await _app.RegisterAsync(email);
        var oldest = await _app.LoginAsync(email);
        _clock.Advance(TimeSpan.FromMinutes(5));
        var middle = await _app.LoginAsync(email);
        _clock.Advance(TimeSpan.FromMinutes(5));
        var newest = await _app.LoginAsync(email);
        _clock.Advance(TimeSpan.FromMinutes(5));

        // The oldest session is used again: it becomes more recently active than the newest.
        using var oldestClient = _app.WithToken(oldest.Token);
        await (await oldestClient.Get("/v1/auth/session")).AssertOkJsonAsync();
        _clock.Advance(TimeSpan.FromMinutes(2));

        // The middle one asks for the list: the request itself is its latest activity.
        using var client = _app.WithToken(middle.Token);
        var sessions = (await (await client.Get("/v1/sessions")).AssertOkJsonAsync()).Items("sessions");

        Assert.Equal([middle.SessionId, oldest.SessionId, newest.SessionId], sessions.Select(s => s.Id()));
        var lastActive = sessions.Select(s => JsonShapes.AssertUtcTimestamp(s.GetProperty("lastActiveAt"))).ToList();
        Assert.Equal(lastActive.OrderDescending(), lastActive);
        Assert.Equal(middle.SessionId, Assert.Single(sessions, s => s.GetProperty("current").GetBoolean()).Id());
    }

    [Fact]
    public async Task Ending_a_session_that_ran_idle_gets_404_and_ends_nothing()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        var (idle, kept) = (user.Sessions[0], user.Sessions[1]);
        using var client = _app.WithToken(kept.Token);

        // Both are 4 days old; only the kept one is used, then 4 days more pass: the other is past its 7-day idle end.
        _clock.Advance(TimeSpan.FromDays(4));
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        _clock.Advance(TimeSpan.FromDays(4));

        await (await client.Delete($"/v1/sessions/{idle.SessionId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        using var admin = await _app.AdminAsync();
        await (await admin.Delete($"/v1/admin/users/{user.Id}/sessions/{idle.SessionId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        var revocations = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.revoked")).AssertOkJsonAsync()).Items("events");
        Assert.Empty(revocations);
    }

    [Fact]
    public async Task A_session_unused_for_the_idle_timeout_gets_401_session_expired()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        _clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));

        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_expired");
    }

    [Fact]
    public async Task A_session_in_use_slides_its_idle_expiry_forward()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        // Six steps of three days: well past the 7-day idle timeout, still inside the 30-day absolute lifetime.
        for (var step = 0; step < 6; step++)
        {
            _clock.Advance(TimeSpan.FromDays(3));
            var session = (await (await client.Get("/v1/auth/session")).AssertOkJsonAsync()).GetProperty("session");
            var expiresAt = JsonShapes.AssertUtcTimestamp(session.GetProperty("expiresAt"));
            Assert.True(expiresAt > _clock.GetUtcNow().AddDays(6), $"expiresAt {expiresAt:O} did not slide (now {_clock.GetUtcNow():O})");
        }
    }

    [Fact]
    public async Task No_session_outlives_the_absolute_lifetime_however_active()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        for (var elapsed = TimeSpan.Zero; elapsed < TimeSpan.FromDays(29); elapsed += TimeSpan.FromDays(1))
        {
            _clock.Advance(TimeSpan.FromDays(1));
            await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        }

        _clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));

        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_expired");
    }

    [Fact]
    public async Task Expired_sessions_leave_the_list()
    {
        var email = TesseraApp.NewEmail();
        await _app.RegisterAsync(email);
        var idle = await _app.LoginAsync(email);
        _clock.Advance(TimeSpan.FromDays(6));
        var active = await _app.LoginAsync(email);
        _clock.Advance(TimeSpan.FromDays(2));
        using var client = _app.WithToken(active.Token);

        var sessions = (await (await client.Get("/v1/sessions")).AssertOkJsonAsync()).Items("sessions");

        Assert.Equal(active.SessionId, Assert.Single(sessions).Id());
        Assert.NotEqual(idle.SessionId, sessions[0].Id());
    }
}
