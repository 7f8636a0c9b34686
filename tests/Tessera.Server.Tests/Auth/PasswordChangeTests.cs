using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Auth;

public sealed class PasswordChangeTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private const string NewPassword = "brand-new-password-7";

    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Changing_the_password_gives_204_keeps_this_session_and_ends_the_others_with_password_changed()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var current = _app.WithToken(user.Sessions[0].Token);

        var response = await current.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = NewPassword });

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await (await current.Get("/v1/auth/session")).AssertOkJsonAsync();
        foreach (var other in user.Sessions.Skip(1))
        {
            using var client = _app.WithToken(other.Token);
            var problem = await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("password_changed", problem.Str("reason"));
        }
    }

    [Fact]
    public async Task After_a_change_the_old_password_no_longer_signs_in_and_the_new_one_does()
    {
        var user = await _app.NewUserAsync();
        using var current = _app.WithToken(user.Token);
        Assert.Equal(HttpStatusCode.NoContent, (await current.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = NewPassword })).StatusCode);
        using var anonymous = _app.Anonymous();

        var old = await anonymous.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password });

        await old.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        await _app.LoginAsync(user.Email, NewPassword);
    }

    [Fact]
    public async Task A_wrong_current_password_gives_400_wrong_password_and_changes_nothing()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var current = _app.WithToken(user.Sessions[0].Token);

        var response = await current.Post("/v1/auth/password/change", new { currentPassword = "not-my-password-1", newPassword = NewPassword });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "wrong_password");
        await (await current.Get("/v1/auth/session")).AssertOkJsonAsync();
        using var other = _app.WithToken(user.Sessions[1].Token);
        await (await other.Get("/v1/auth/session")).AssertOkJsonAsync();
        await _app.LoginAsync(user.Email);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("password")]
    [InlineData("qwertyuiop")]
    public async Task A_weak_new_password_gives_400_weak_password_and_ends_nothing(string weak)
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var current = _app.WithToken(user.Sessions[0].Token);

        var response = await current.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = weak });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");
        Assert.True(problem.GetProperty("errors").TryGetProperty("newPassword", out _));
        using var other = _app.WithToken(user.Sessions[1].Token);
        await (await other.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Missing_fields_give_400_validation_failed()
    {
        var user = await _app.NewUserAsync();
        using var current = _app.WithToken(user.Token);

        var response = await current.PostRaw("/v1/auth/password/change", """{"newPassword": "brand-new-password-7"}""");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Changing_the_password_needs_a_session()
    {
        using var anonymous = _app.Anonymous();

        var response = await anonymous.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = NewPassword });

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task A_change_is_in_the_audit_log_with_the_sessions_it_ended()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var current = _app.WithToken(user.Sessions[0].Token);
        await current.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = NewPassword });
        using var admin = await _app.AdminAsync();

        var changed = Assert.Single((await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=password.changed")).AssertOkJsonAsync()).Items("events"));
        var revoked = Assert.Single((await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.revoked")).AssertOkJsonAsync()).Items("events"));

        var ended = user.Sessions.Skip(1).Select(s => s.SessionId).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(ended, changed.Items("sessionIds").Select(s => s.GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal(ended, revoked.Items("sessionIds").Select(s => s.GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal("password_changed", revoked.Str("reason"));
        Assert.Equal(user.Id, changed.GetProperty("actor").Str("id"));
    }
}
