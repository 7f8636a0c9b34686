using System.Net;
using System.Text.Json;
using Tessera.AspNetCore.Tests.Infrastructure;
using Tessera.Testing;

namespace Tessera.AspNetCore.Tests.Authentication;

/// <summary>A relying app on Kestrel against a real Tessera: claims, roles, Bearer and cookie, and how refusals are answered.</summary>
public sealed class AuthenticationTests(RealTessera tessera) : IClassFixture<RealTessera>, IAsyncLifetime
{
    private RelyingApp _app = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _app = await RelyingApp.StartAsync(tessera.Authority, tessera.ClientId, tessera.ClientSecret);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task A_Bearer_token_gives_the_claims_a_dotnet_developer_expects()
    {
        var (email, userId) = await tessera.NewUserAsync("Ada Lovelace");
        var token = await tessera.LoginAsync(email, deviceName: "Ada's laptop");
        var sessionId = await tessera.SessionIdAsync(token);

        using var client = _app.Client(token);
        var me = await RealTessera.Json(await client.GetAsync("/api/me", Cancellation));

        Assert.Equal(userId, me.GetProperty("sub").GetString());
        Assert.Equal(userId, me.GetProperty("nameIdentifier").GetString());
        Assert.Equal(sessionId, me.GetProperty("sid").GetString());
        Assert.Equal(email, me.GetProperty("email").GetString());
        Assert.Equal("Ada Lovelace", me.GetProperty("name").GetString());
        Assert.Equal("user", me.GetProperty("role").GetString());
        Assert.False(me.GetProperty("isAdmin").GetBoolean());
        Assert.Equal("Ada's laptop", me.GetProperty("deviceName").GetString());
        Assert.Equal("desktop", me.GetProperty("devicePlatform").GetString());
        Assert.Equal("Linux", me.GetProperty("deviceOs").GetString());
    }

    [Fact]
    public async Task The_role_policy_lets_an_admin_in_and_answers_a_user_with_a_403_problem()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var user = _app.Client(await tessera.LoginAsync(email));
        using var admin = _app.Client(await tessera.LoginAsync(LoopbackTesseraServer.AdminEmail, LoopbackTesseraServer.AdminPassword));

        var refused = await user.GetAsync("/api/admin", Cancellation);
        await AssertProblemAsync(refused, HttpStatusCode.Forbidden, "forbidden");
        var me = await RealTessera.Json(await admin.GetAsync("/api/me", Cancellation));
        Assert.True(me.GetProperty("isAdmin").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/admin", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task The_apps_cookie_carries_the_session_for_pages_and_apis()
    {
        var (email, _) = await tessera.NewUserAsync("Grace");
        var token = await tessera.LoginAsync(email);
        using var browser = _app.Client(cookie: token);

        var page = await browser.GetAsync("/page", Cancellation);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Grace", await page.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/me", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task An_Authorization_header_that_is_not_Bearer_is_no_token_even_with_the_cookie()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var client = _app.Client(cookie: await tessera.LoginAsync(email));
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "eDp5");

        await AssertProblemAsync(await client.GetAsync("/api/me", Cancellation), HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task An_API_request_without_a_session_gets_a_401_problem_with_a_Bearer_challenge()
    {
        using var anonymous = _app.Client();
        var response = await anonymous.GetAsync("/api/me", Cancellation);
        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);

        using var wrong = _app.Client("not-a-token");
        await AssertProblemAsync(await wrong.GetAsync("/api/me", Cancellation), HttpStatusCode.Unauthorized, "unauthenticated");
        // An endpoint that needs no sign-in is simply anonymous.
        var open = await RealTessera.Json(await wrong.GetAsync("/api/anonymous", Cancellation));
        Assert.False(open.GetProperty("signedIn").GetBoolean());
    }

    [Fact]
    public async Task A_page_request_without_a_session_is_sent_to_sign_in_with_returnUrl_and_reason()
    {
        using var browser = _app.Client(cookie: "stale-token");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/page?tab=2");
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml");
        var response = await browser.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/signin?returnUrl=%2Fpage%3Ftab%3D2&reason=unauthenticated", response.Headers.Location!.OriginalString);
        // The cookie's token will never hold: the browser is told to drop it.
        var deleted = Assert.Single(response.Headers.GetValues("Set-Cookie"), cookie => cookie.StartsWith($"{TesseraDefaults.CookieName}=;", StringComparison.Ordinal));
        Assert.Contains("expires=Thu, 01 Jan 1970", deleted, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("max-age", deleted, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_page_a_user_may_not_open_sends_them_to_sign_in_with_reason_forbidden()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var browser = _app.Client(cookie: await tessera.LoginAsync(email));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin-page");
        request.Headers.Accept.ParseAdd("text/html");
        var response = await browser.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/signin?returnUrl=%2Fadmin-page&reason=forbidden", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Tessera_unreachable_is_a_503_authority_unavailable_never_accepted_and_never_a_500()
    {
        // A port that was free a moment ago: nothing listens there.
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var app = await RelyingApp.StartAsync(new Uri($"http://127.0.0.1:{port}"), tessera.ClientId, tessera.ClientSecret);
        var (email, _) = await tessera.NewUserAsync();
        using var client = app.Client(await tessera.LoginAsync(email));

        var response = await client.GetAsync("/api/me", Cancellation);
        await AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "authority_unavailable");

        using var page = new HttpRequestMessage(HttpMethod.Get, "/page");
        page.Headers.Accept.ParseAdd("text/html");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.SendAsync(page, Cancellation)).StatusCode);
    }

    [Fact]
    public async Task A_wrong_client_secret_is_never_accepted_either()
    {
        await using var app = await RelyingApp.StartAsync(tessera.Authority, tessera.ClientId, "wrong-secret");
        var (email, _) = await tessera.NewUserAsync();
        using var client = app.Client(await tessera.LoginAsync(email));

        await AssertProblemAsync(await client.GetAsync("/api/me", Cancellation), HttpStatusCode.ServiceUnavailable, "authority_unavailable");
    }

    [Fact]
    public async Task Options_are_checked_at_start_with_sentences_that_name_them()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RelyingApp.StartAsync(new Uri("/relative", UriKind.Relative), "", " ",
            options => options.VerdictCacheSize = 0));
        var message = failure.ToString();
        Assert.Contains("Authority must be Tessera's absolute http or https address", message, StringComparison.Ordinal);
        Assert.Contains("ClientId is required", message, StringComparison.Ordinal);
        Assert.Contains("ClientSecret is required", message, StringComparison.Ordinal);
        Assert.Contains("VerdictCacheSize must be at least 1", message, StringComparison.Ordinal);
    }

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }
}
