using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Auth;

public sealed class LogoutTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Logging_out_gives_204_and_the_token_then_gets_401_session_revoked_signed_out()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var logout = await client.Post("/v1/auth/logout");

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Empty(await logout.ReadTextAsync());
        var problem = await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("signed_out", problem.Str("reason"));
        Assert.False(string.IsNullOrWhiteSpace(problem.Str("detail")));
    }

    [Fact]
    public async Task Logging_out_ends_only_the_current_session()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var first = _app.WithToken(user.Sessions[0].Token);
        using var second = _app.WithToken(user.Sessions[1].Token);

        Assert.Equal(HttpStatusCode.NoContent, (await first.Post("/v1/auth/logout")).StatusCode);

        await (await second.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Logging_out_twice_gives_401_the_second_time()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await client.Post("/v1/auth/logout");

        var again = await client.Post("/v1/auth/logout");

        var problem = await again.AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("signed_out", problem.Str("reason"));
    }

    [Fact]
    public async Task Logging_out_without_a_session_gives_401_unauthenticated()
    {
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/logout");

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logging_out_with_the_cookie_clears_the_cookie()
    {
        var user = await _app.NewUserAsync();
        using var browser = _app.WithCookie(user.Token);

        var logout = await browser.Post("/v1/auth/logout");

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        var cleared = Assert.Single(logout.Headers.GetValues("Set-Cookie"), c => c.StartsWith("tessera_session=", StringComparison.Ordinal));
        Assert.Contains("expires=Thu, 01 Jan 1970", cleared, StringComparison.OrdinalIgnoreCase);
        await (await browser.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
    }

    [Fact]
    public async Task Logging_out_is_in_the_audit_log_with_the_session_and_reason()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        await client.Post("/v1/auth/logout");
        using var admin = await _app.AdminAsync();

        var events = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.revoked")).AssertOkJsonAsync()).Items("events");

        var revoked = Assert.Single(events);
        JsonShapes.AssertAuditEvent(revoked);
        Assert.Equal("signed_out", revoked.Str("reason"));
        Assert.Equal([user.Session.SessionId], revoked.Items("sessionIds").Select(s => s.GetString()));
        Assert.Equal(user.Id, revoked.GetProperty("actor").Str("id"));
        Assert.Equal(user.Id, revoked.Str("targetUserId"));
    }

    [Fact]
    public async Task The_whoami_without_a_session_gives_401_unauthenticated()
    {
        using var client = _app.Anonymous();

        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }
}
