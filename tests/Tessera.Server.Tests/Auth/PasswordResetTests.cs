using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Auth;

public sealed class PasswordResetTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private const string NewPassword = "reset-password-42";

    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task A_reset_request_gives_202_and_writes_the_token_to_the_outbox()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/password/reset-request", new { email = user.Email });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var token = await _app.ReadResetTokenAsync(user.Email);
        Assert.NotNull(token);
    }

    [Fact]
    public async Task A_reset_request_for_an_unknown_email_gets_the_same_202_and_sends_nothing()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();
        var unknownEmail = TesseraApp.NewEmail("nobody");

        var known = await client.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var unknown = await client.Post("/v1/auth/password/reset-request", new { email = unknownEmail });

        Assert.Equal(HttpStatusCode.Accepted, known.StatusCode);
        Assert.Equal(known.StatusCode, unknown.StatusCode);
        Assert.Equal(await known.ReadTextAsync(), await unknown.ReadTextAsync());
        Assert.Equal(known.Content.Headers.ContentType?.MediaType, unknown.Content.Headers.ContentType?.MediaType);
        Assert.Null(await _app.ReadResetTokenAsync(unknownEmail));
    }

    [Fact]
    public async Task A_reset_request_in_a_different_case_reaches_the_account()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();

        Assert.Equal(HttpStatusCode.Accepted, (await client.Post("/v1/auth/password/reset-request", new { email = user.Email.ToUpperInvariant() })).StatusCode);

        Assert.NotNull(await _app.ReadResetTokenAsync(user.Email));
    }

    [Fact]
    public async Task Resetting_gives_204_ends_every_session_with_password_reset_and_the_new_password_signs_in()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var client = _app.Anonymous();
        await client.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var token = await _app.ReadResetTokenAsync(user.Email);

        var response = await client.Post("/v1/auth/password/reset", new { token, newPassword = NewPassword });

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        foreach (var session in user.Sessions)
        {
            using var old = _app.WithToken(session.Token);
            var problem = await (await old.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("password_reset", problem.Str("reason"));
        }

        await (await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        await _app.LoginAsync(user.Email, NewPassword);
    }

    [Fact]
    public async Task A_reset_token_works_only_once()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();
        await client.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var token = await _app.ReadResetTokenAsync(user.Email);
        Assert.Equal(HttpStatusCode.NoContent, (await client.Post("/v1/auth/password/reset", new { token, newPassword = NewPassword })).StatusCode);

        var second = await client.Post("/v1/auth/password/reset", new { token, newPassword = "yet-another-password-3" });

        await second.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_reset_token");
        await _app.LoginAsync(user.Email, NewPassword);
    }

    [Fact]
    public async Task A_newer_reset_request_makes_an_older_token_useless_before_and_after_the_newer_is_used()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();
        await client.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var older = await _app.ReadResetTokenAsync(user.Email);
        await Task.Delay(5, TestContext.Current.CancellationToken);
        await client.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var newer = await _app.ReadResetTokenAsync(user.Email);
        Assert.NotEqual(older, newer);

        var early = await client.Post("/v1/auth/password/reset", new { token = older, newPassword = "yet-another-password-3" });
        Assert.Equal(HttpStatusCode.NoContent, (await client.Post("/v1/auth/password/reset", new { token = newer, newPassword = NewPassword })).StatusCode);
        var late = await client.Post("/v1/auth/password/reset", new { token = older, newPassword = "yet-another-password-3" });

        await early.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_reset_token");
        await late.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_reset_token");
    }

    [Fact]
    public async Task A_reset_token_sent_before_a_password_change_no_longer_works_after_it()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var anonymous = _app.Anonymous();
        await anonymous.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var token = await _app.ReadResetTokenAsync(user.Email);
        using var owner = _app.WithToken(user.Token);
        await (await owner.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = "changed-password-7" }))
            .AssertOkJsonAsync(HttpStatusCode.NoContent);

        var reset = await anonymous.Post("/v1/auth/password/reset", new { token, newPassword = "an-attackers-password-1" });

        await reset.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_reset_token");
        await _app.LoginAsync(user.Email, "changed-password-7");
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("not a token at all, with spaces and ünïcödé")]
    public async Task A_garbage_reset_token_gives_400_invalid_reset_token(string token)
    {
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/password/reset", new { token, newPassword = NewPassword });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_reset_token");
    }

    [Fact]
    public async Task A_reset_with_a_weak_password_gives_400_weak_password_and_keeps_the_token_usable()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var client = _app.Anonymous();
        await client.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var token = await _app.ReadResetTokenAsync(user.Email);

        var weak = await client.Post("/v1/auth/password/reset", new { token, newPassword = "short" });
        await weak.AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");
        var common = await client.Post("/v1/auth/password/reset", new { token, newPassword = "Password1" });
        await common.AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");
        var personal = await client.Post("/v1/auth/password/reset", new { token, newPassword = user.Email });
        await personal.AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");

        using var session = _app.WithToken(user.Token);
        await (await session.Get("/v1/auth/session")).AssertOkJsonAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await client.Post("/v1/auth/password/reset", new { token, newPassword = NewPassword })).StatusCode);
    }

    [Fact]
    public async Task A_reset_without_a_token_gives_400_validation_failed()
    {
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/password/reset", new { newPassword = NewPassword });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_reset_request_without_an_email_gives_400_validation_failed()
    {
        using var client = _app.Anonymous();

        var response = await client.PostRaw("/v1/auth/password/reset-request", "{}");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_reset_is_in_the_audit_log_with_the_sessions_it_ended()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var client = _app.Anonymous();
        await client.Post("/v1/auth/password/reset-request", new { email = user.Email });
        await client.Post("/v1/auth/password/reset", new { token = await _app.ReadResetTokenAsync(user.Email), newPassword = NewPassword });
        using var admin = await _app.AdminAsync();

        var reset = Assert.Single((await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=password.reset")).AssertOkJsonAsync()).Items("events"));

        Assert.Equal(
            user.Sessions.Select(s => s.SessionId).Order(StringComparer.Ordinal),
            reset.Items("sessionIds").Select(s => s.GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal(user.Id, reset.Str("targetUserId"));
    }
}
