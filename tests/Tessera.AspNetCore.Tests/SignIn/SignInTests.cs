using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tessera.AspNetCore.Tests.Authentication;
using Tessera.AspNetCore.Tests.Infrastructure;
using Tessera.Testing;

namespace Tessera.AspNetCore.Tests.SignIn;

/// <summary>An app with its own sign-in form: TesseraSignIn signs the visitor in through the app's client and keeps the token in the app's cookie.</summary>
public sealed class SignInTests(RealTessera tessera) : IClassFixture<RealTessera>, IAsyncLifetime
{
    private const string IPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

    private RelyingApp _app = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _app = await RelyingApp.StartAsync(tessera.Authority, tessera.ClientId, tessera.ClientSecret);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task Signing_in_through_the_app_records_the_visitors_address_and_device_and_sets_the_apps_cookie()
    {
        var (email, userId) = await tessera.NewUserAsync();
        using var visitor = _app.Client();
        visitor.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.7");
        visitor.DefaultRequestHeaders.UserAgent.ParseAdd(IPhone);

        var answer = await visitor.PostAsJsonAsync("/signin", new { email, password = LoopbackTesseraServer.Password }, Cancellation);

        var result = await RealTessera.Json(answer);
        Assert.True(result.GetProperty("succeeded").GetBoolean());
        var cookie = answer.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith($"{TesseraDefaults.CookieName}=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("max-age=2592000", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase); // plain http here
        var sessions = await tessera.AdminGetAsync($"/v1/admin/users/{userId}/sessions");
        var session = sessions.GetProperty("sessions").EnumerateArray().Single();
        Assert.Equal(result.GetProperty("sessionId").GetString(), session.GetProperty("id").GetString());
        Assert.Equal("203.0.113.7", session.GetProperty("ipAddress").GetString());
        Assert.Equal("mobile", session.GetProperty("device").GetProperty("platform").GetString());

        using var browser = _app.Client(cookie: cookie.Split(';')[0][(TesseraDefaults.CookieName.Length + 1)..]);
        var me = await RealTessera.Json(await browser.GetAsync("/api/me", Cancellation));
        Assert.Equal(userId, me.GetProperty("sub").GetString());
        Assert.Equal("mobile", me.GetProperty("devicePlatform").GetString());

        var signedOut = await browser.PostAsync("/signout", null, Cancellation);
        Assert.True((await RealTessera.Json(signedOut)).GetProperty("ok").GetBoolean());
        var deleted = Assert.Single(signedOut.Headers.GetValues("Set-Cookie"), c => c.StartsWith($"{TesseraDefaults.CookieName}=;", StringComparison.Ordinal));
        Assert.DoesNotContain("max-age", deleted, StringComparison.OrdinalIgnoreCase);
        Assert.Empty((await tessera.AdminGetAsync($"/v1/admin/users/{userId}/sessions")).GetProperty("sessions").EnumerateArray());
        await AuthenticationTests.AssertProblemAsync(await browser.GetAsync("/api/me", Cancellation), HttpStatusCode.Unauthorized, "session_revoked");
    }

    [Fact]
    public async Task A_wrong_password_is_refused_with_Tesseras_code_and_sentence()
    {
        var (email, _) = await tessera.NewUserAsync();
        var result = await SignInAsync(email, "not-the-password");

        Assert.False(result.GetProperty("succeeded").GetBoolean());
        Assert.Equal("invalid_credentials", result.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(result.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task A_banned_account_is_refused_with_when_the_ban_ends()
    {
        var (email, userId) = await tessera.NewUserAsync();
        var until = DateTimeOffset.UtcNow.AddDays(2);
        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban", new { until });

        var result = await SignInAsync(email, LoopbackTesseraServer.Password);

        Assert.Equal("account_banned", result.GetProperty("code").GetString());
        var bannedUntil = result.GetProperty("bannedUntil").GetDateTimeOffset();
        Assert.True(Math.Abs((bannedUntil - until).TotalSeconds) < 1, $"{bannedUntil} vs {until}");
    }

    [Fact]
    public async Task A_deactivated_account_is_refused_as_such()
    {
        var (email, userId) = await tessera.NewUserAsync();
        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/deactivate");

        Assert.Equal("account_deactivated", (await SignInAsync(email, LoopbackTesseraServer.Password)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_client_without_the_login_scope_is_the_apps_fault_not_the_visitors()
    {
        var (id, secret) = await tessera.CreateClientAsync("No login", "introspect", "revocations");
        await using var app = await RelyingApp.StartAsync(tessera.Authority, id, secret);
        var (email, _) = await tessera.NewUserAsync();
        using var visitor = app.Client();

        var result = await RealTessera.Json(await visitor.PostAsJsonAsync("/signin", new { email, password = LoopbackTesseraServer.Password }, Cancellation), HttpStatusCode.BadRequest);

        Assert.Equal("authority_unavailable", result.GetProperty("code").GetString());
    }

    private async Task<JsonElement> SignInAsync(string email, string password)
    {
        using var visitor = _app.Client();
        return await RealTessera.Json(await visitor.PostAsJsonAsync("/signin", new { email, password }, Cancellation), HttpStatusCode.BadRequest);
    }
}
