using System.Net;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Auth;

public sealed class LoginTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private const string ChromeOnWindows =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    private const string SafariOnIPhone =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Signing_in_returns_a_token_the_session_and_the_user()
    {
        var email = TesseraApp.NewEmail();
        var id = await _app.RegisterAsync(email, "Grace");
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email, password = TesseraApp.Password });

        var body = await response.AssertOkJsonAsync();
        var token = body.Str("token");
        Assert.Equal(43, token.Length);
        Assert.Matches("^[A-Za-z0-9_-]+$", token);
        var session = body.GetProperty("session");
        JsonShapes.AssertSession(session);
        Assert.StartsWith("ses_", session.Id(), StringComparison.Ordinal);
        Assert.True(session.GetProperty("current").GetBoolean());
        Assert.Equal(TesseraApp.DefaultClientIp, session.Str("ipAddress"));
        var createdAt = JsonShapes.AssertUtcTimestamp(session.GetProperty("createdAt"));
        var expiresAt = JsonShapes.AssertUtcTimestamp(session.GetProperty("expiresAt"));
        Assert.Equal(TimeSpan.FromDays(7), expiresAt - createdAt);
        var user = body.GetProperty("user");
        JsonShapes.AssertUser(user);
        Assert.Equal(id, user.Id());
        Assert.Equal("Grace", user.Str("displayName"));
        Assert.Null(response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies.FirstOrDefault() : null);
    }

    [Fact]
    public async Task The_token_from_login_opens_the_whoami()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var body = await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();

        JsonShapes.AssertSession(body.GetProperty("session"));
        JsonShapes.AssertUser(body.GetProperty("user"));
        Assert.Equal(user.Session.SessionId, body.GetProperty("session").Id());
        Assert.True(body.GetProperty("session").GetProperty("current").GetBoolean());
        Assert.Equal(user.Id, body.GetProperty("user").Id());
    }

    [Fact]
    public async Task Every_login_gets_a_new_token_and_session()
    {
        var user = await _app.NewUserAsync(sessions: 3);

        Assert.Equal(3, user.Sessions.Select(s => s.Token).Distinct().Count());
        Assert.Equal(3, user.Sessions.Select(s => s.SessionId).Distinct().Count());
    }

    [Fact]
    public async Task Unknown_email_and_wrong_password_get_the_same_401_invalid_credentials()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.Anonymous();

        var unknown = await client.Post("/v1/auth/login", new { email = TesseraApp.NewEmail("nobody"), password = TesseraApp.Password });
        var wrong = await client.Post("/v1/auth/login", new { email = user.Email, password = "wrong-password-1" });

        var unknownProblem = await unknown.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        var wrongProblem = await wrong.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        Assert.Equal(
            unknownProblem.EnumerateObject().Select(p => p.Name).Where(n => n != "traceId").Order(StringComparer.Ordinal),
            wrongProblem.EnumerateObject().Select(p => p.Name).Where(n => n != "traceId").Order(StringComparer.Ordinal));
        Assert.Equal(unknownProblem.Str("detail"), wrongProblem.Str("detail"));
        Assert.Equal(unknownProblem.Str("title"), wrongProblem.Str("title"));
    }

    [Fact]
    public async Task A_password_differing_only_in_case_is_wrong()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password.ToUpperInvariant() });

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Fact]
    public async Task A_deactivated_user_with_the_right_password_gets_403_account_deactivated()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate", new { reason = "test" })).AssertOkJsonAsync();
        using var client = _app.Anonymous();

        var right = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password });
        var wrong = await client.Post("/v1/auth/login", new { email = user.Email, password = "wrong-password-1" });

        await right.AssertProblemAsync(HttpStatusCode.Forbidden, "account_deactivated");
        await wrong.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Fact]
    public async Task A_banned_user_with_the_right_password_gets_403_account_banned_with_bannedUntil()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        var until = DateTimeOffset.UtcNow.AddDays(3);
        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "spam", until })).AssertOkJsonAsync();
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password });

        var problem = await response.AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");
        var bannedUntil = JsonShapes.AssertUtcTimestamp(problem.GetProperty("bannedUntil"), "bannedUntil");
        Assert.True((bannedUntil - until).Duration() < TimeSpan.FromSeconds(1), $"bannedUntil {bannedUntil:O} is not the ban's end {until:O}");
    }

    [Fact]
    public async Task A_user_banned_without_end_gets_account_banned_with_a_null_bannedUntil()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "abuse" })).AssertOkJsonAsync();
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password });

        var problem = await response.AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");
        Assert.True(!problem.TryGetProperty("bannedUntil", out var bannedUntil) || bannedUntil.ValueKind == JsonValueKind.Null, $"{problem}");
    }

    [Fact]
    public async Task A_banned_user_with_the_wrong_password_still_gets_401_invalid_credentials()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "spam" })).AssertOkJsonAsync();
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = "wrong-password-1" });

        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        Assert.False(problem.TryGetProperty("bannedUntil", out _), "a wrong password must not learn about the ban");
    }

    [Fact]
    public async Task A_deleted_user_cannot_sign_in_with_the_old_email_and_password()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Delete($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var problem = await response.ReadJsonAsync();
        Assert.Contains(problem.Str("code"), new[] { "invalid_credentials", "account_deleted" });
    }

    [Fact]
    public async Task With_useCookie_the_token_is_set_as_an_HttpOnly_SameSite_Lax_cookie_and_not_returned()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password, useCookie = true });

        var body = await response.AssertOkJsonAsync();
        Assert.False(body.TryGetProperty("token", out var token) && token.ValueKind != JsonValueKind.Null, $"the token is in the body: {body}");
        JsonShapes.AssertSession(body.GetProperty("session"));
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("tessera_session=", StringComparison.Ordinal));
        var attributes = setCookie.Split(';', StringSplitOptions.TrimEntries);
        Assert.Contains(attributes, a => a.Equals("httponly", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(attributes, a => a.Equals("samesite=lax", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(attributes, a => a.Equals("path=/", StringComparison.OrdinalIgnoreCase));
        var cookieToken = attributes[0]["tessera_session=".Length..];
        Assert.Equal(43, cookieToken.Length);

        using var browser = _app.WithCookie(cookieToken);
        var whoami = await (await browser.Get("/v1/auth/session")).AssertOkJsonAsync();
        Assert.Equal(user.Id, whoami.GetProperty("user").Id());
        Assert.Equal(body.GetProperty("session").Id(), whoami.GetProperty("session").Id());
    }

    [Fact]
    public async Task Over_https_the_session_cookie_is_Secure()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions
        {
            BaseAddress = new Uri("https://localhost"),
            HandleCookies = false,
        });

        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password, useCookie = true });

        await response.AssertOkJsonAsync();
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("tessera_session=", StringComparison.Ordinal));
        Assert.Contains(setCookie.Split(';', StringSplitOptions.TrimEntries), a => a.Equals("secure", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_cookie_login_replaces_no_one_elses_session_and_each_login_gets_a_new_cookie()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();

        var first = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password, useCookie = true });
        var second = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password, useCookie = true });

        var firstCookie = first.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("tessera_session=", StringComparison.Ordinal)).Split(';')[0];
        var secondCookie = second.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("tessera_session=", StringComparison.Ordinal)).Split(';')[0];
        Assert.NotEqual(firstCookie, secondCookie);
    }

    [Fact]
    public async Task A_device_name_longer_than_100_characters_gives_400_validation_failed()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password, device = new { name = new string('n', 101) } });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_CLI_login_is_a_cli_session()
    {
        var user = await _app.NewUserAsync(sessions: 0);

        var signedIn = await _app.LoginAsync(user.Email, device: new { name = "tessera CLI", platform = "cli" }, userAgent: "tessera-cli/1.0");

        Assert.Equal("cli", signedIn.Body.GetProperty("session").GetProperty("device").Str("platform"));
    }

    [Fact]
    public async Task Device_fields_from_the_body_win_over_the_User_Agent()
    {
        var user = await _app.NewUserAsync(sessions: 0);

        var signedIn = await _app.LoginAsync(user.Email, device: new { name = "Work laptop", platform = "desktop", os = "Windows 11" }, userAgent: ChromeOnWindows);

        var device = signedIn.Body.GetProperty("session").GetProperty("device");
        Assert.Equal("Work laptop", device.Str("name"));
        Assert.Equal("desktop", device.Str("platform"));
        Assert.Equal("Windows 11", device.Str("os"));
        Assert.Contains("Chrome", device.Str("browser"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Chrome_on_Windows_User_Agent_gives_a_web_session_with_browser_and_os()
    {
        var user = await _app.NewUserAsync(sessions: 0);

        var signedIn = await _app.LoginAsync(user.Email, userAgent: ChromeOnWindows);

        var device = signedIn.Body.GetProperty("session").GetProperty("device");
        Assert.Equal("web", device.Str("platform"));
        Assert.StartsWith("Chrome", device.Str("browser"), StringComparison.Ordinal);
        Assert.StartsWith("Windows", device.Str("os"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_iPhone_User_Agent_gives_a_mobile_session_with_browser_and_os()
    {
        var user = await _app.NewUserAsync(sessions: 0);

        var signedIn = await _app.LoginAsync(user.Email, userAgent: SafariOnIPhone);

        var device = signedIn.Body.GetProperty("session").GetProperty("device");
        Assert.Equal("mobile", device.Str("platform"));
        Assert.Contains("Safari", device.Str("browser"), StringComparison.Ordinal);
        Assert.StartsWith("iOS", device.Str("os"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parts_an_unknown_User_Agent_does_not_tell_are_null()
    {
        var user = await _app.NewUserAsync(sessions: 0);

        var signedIn = await _app.LoginAsync(user.Email, userAgent: "TesseraProbe/1.0 (frobnicator)");

        var device = signedIn.Body.GetProperty("session").GetProperty("device");
        Assert.Equal(JsonValueKind.Null, device.GetProperty("browser").ValueKind);
        Assert.Equal(JsonValueKind.Null, device.GetProperty("os").ValueKind);
        Assert.Contains(device.Str("platform"), JsonShapes.Platforms);
    }

    [Fact]
    public async Task Without_device_or_User_Agent_nothing_is_guessed()
    {
        var user = await _app.NewUserAsync(sessions: 0);

        var signedIn = await _app.LoginAsync(user.Email);

        var device = signedIn.Body.GetProperty("session").GetProperty("device");
        Assert.Equal(JsonValueKind.Null, device.GetProperty("browser").ValueKind);
        Assert.Equal(JsonValueKind.Null, device.GetProperty("os").ValueKind);
        Assert.Equal(JsonValueKind.Null, device.GetProperty("name").ValueKind);
    }

    [Fact]
    public async Task An_unknown_device_platform_gives_400_validation_failed()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password, device = new { platform = "toaster" } });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("""{"password": "correct-horse-1"}""")]
    [InlineData("""{"email": "someone@example.com"}""")]
    [InlineData("""{"email": "", "password": ""}""")]
    public async Task Missing_credentials_give_400_validation_failed(string json)
    {
        using var client = _app.Anonymous();

        var response = await client.PostRaw("/v1/auth/login", json);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_failed_login_is_in_the_audit_log_as_login_failed()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var client = _app.Anonymous();
        await client.Post("/v1/auth/login", new { email = user.Email, password = "wrong-password-1" });
        using var admin = await _app.AdminAsync();

        var events = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=login.failed")).AssertOkJsonAsync()).Items("events");

        var failed = Assert.Single(events);
        JsonShapes.AssertAuditEvent(failed);
        Assert.Equal(user.Id, failed.Str("targetUserId"));
        Assert.Equal(TesseraApp.DefaultClientIp, failed.Str("ipAddress"));
    }

    [Fact]
    public async Task A_login_is_in_the_audit_log_as_session_created_with_the_session_id()
    {
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();

        var events = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.created")).AssertOkJsonAsync()).Items("events");

        var created = Assert.Single(events);
        Assert.Equal([user.Session.SessionId], created.Items("sessionIds").Select(s => s.GetString()));
        Assert.Equal("user", created.GetProperty("actor").Str("kind"));
        Assert.Equal(user.Id, created.GetProperty("actor").Str("id"));
    }
}
