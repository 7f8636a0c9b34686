using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Scenarios;

/// <summary>"The 24-hour ban never ended": a ban with <c>until</c> ends by itself, with nobody unbanning.</summary>
public sealed class TimedBanScenarios : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TesseraApp _app;

    public TimedBanScenarios() => _app = new TesseraApp(clock: _clock);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task A_ban_with_until_expires_by_itself_and_login_works_after_it()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();
        var until = _clock.GetUtcNow().AddHours(24);
        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "cool off", until })).AssertOkJsonAsync();
        using var anonymous = _app.Anonymous();

        _clock.Advance(TimeSpan.FromHours(23));
        await (await anonymous.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");

        _clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var signedIn = await _app.LoginAsync(user.Email);

        using var client = _app.WithToken(signedIn.Token);
        var whoami = await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        Assert.False(whoami.GetProperty("user").GetProperty("banned").GetBoolean());

        // The sessions the ban ended stay ended.
        using var old = _app.WithToken(user.Token);
        var problem = await (await old.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("user_banned", problem.Str("reason"));
    }

    [Fact]
    public async Task An_expired_ban_no_longer_counts_as_banned_for_the_admin()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { until = _clock.GetUtcNow().AddHours(1) })).AssertOkJsonAsync();
        var banned = (await (await admin.Get("/v1/admin/users?status=banned")).AssertOkJsonAsync()).Items("users");
        Assert.Contains(banned, u => u.Id() == user.Id);

        _clock.Advance(TimeSpan.FromHours(2));

        using var freshAdmin = await _app.AdminAsync();
        var fetched = (await (await freshAdmin.Get($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync()).GetProperty("user");
        Assert.False(fetched.GetProperty("banned").GetBoolean());
        var stillBanned = (await (await freshAdmin.Get("/v1/admin/users?status=banned")).AssertOkJsonAsync()).Items("users");
        Assert.DoesNotContain(stillBanned, u => u.Id() == user.Id);
    }

    [Fact]
    public async Task A_ban_without_until_does_not_expire()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "for good" })).AssertOkJsonAsync();

        _clock.Advance(TimeSpan.FromDays(400));

        using var anonymous = _app.Anonymous();
        await (await anonymous.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");
    }
}
