using System.Net;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using Tessera.AspNetCore.Tests.Infrastructure;
using Tessera.AspNetCore.Tests.Revocations;
using Tessera.Testing;

namespace Tessera.AspNetCore.Tests.Sample;

/// <summary>The sample Portal started as a real process against a real Tessera, driven as a browser and a WebSocket client would.</summary>
public sealed partial class SamplePortalTests(RealTessera tessera) : IClassFixture<RealTessera>, IAsyncLifetime
{
    private SamplePortalProcess _portal = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _portal = await SamplePortalProcess.StartAsync(tessera.Authority, tessera.ClientId, tessera.ClientSecret);

    public ValueTask DisposeAsync() => _portal.DisposeAsync();

    [Fact]
    public async Task Sign_in_see_the_user_use_the_API_and_the_feed_closes_with_the_reason_when_an_admin_bans_the_user()
    {
        var (email, userId) = await tessera.NewUserAsync("Ada");
        var cookies = new CookieContainer();
        using var browser = Browser(cookies);

        var home = await browser.GetAsync("/", Cancellation);
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
        Assert.Equal("/signin?returnUrl=%2F&reason=unauthenticated", home.Headers.Location!.OriginalString);
        var signedIn = await SubmitSignInAsync(browser, email, LoopbackTesseraServer.Password);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/", signedIn.Headers.Location!.OriginalString);

        var page = await browser.GetStringAsync("/", Cancellation);
        Assert.Contains("Hello, Ada", page, StringComparison.Ordinal);
        Assert.Contains(email, page, StringComparison.Ordinal);
        var me = await RealTessera.Json(await ApiAsync(browser, "/api/me"));
        Assert.Equal(userId, me.GetProperty("userId").GetString());
        Assert.Equal("user", me.GetProperty("role").GetString());
        var admin = await ApiAsync(browser, "/api/admin/overview");
        Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
        Assert.Equal("forbidden", (await RealTessera.Json(admin, HttpStatusCode.Forbidden)).GetProperty("code").GetString());

        using var socket = new ClientWebSocket();
        socket.Options.Cookies = cookies;
        await socket.ConnectAsync(new Uri(_portal.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/feed"), Cancellation);
        Assert.StartsWith("tick 1", await SessionEndTests.ReceiveTextAsync(socket), StringComparison.Ordinal);

        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban");

        var (status, reason) = await SessionEndTests.ReceiveCloseAsync(socket);
        Assert.Equal(4001, status);
        Assert.Equal("user_banned", reason);
        var after = await browser.GetAsync("/", Cancellation);
        Assert.Equal("/signin?returnUrl=%2F&reason=user_banned", after.Headers.Location!.OriginalString);
        Assert.Contains("Your account has been banned.", await browser.GetStringAsync(after.Headers.Location.OriginalString, Cancellation), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sign_in_page_shows_Tesseras_refusals()
    {
        var (email, userId) = await tessera.NewUserAsync();
        using var browser = Browser(new CookieContainer());

        var wrong = await SubmitSignInAsync(browser, email, "not-the-password");
        Assert.Contains("Wrong email or password.", await wrong.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);

        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban", new { until = new DateTimeOffset(2099, 1, 2, 3, 4, 0, TimeSpan.Zero) });
        var banned = await SubmitSignInAsync(browser, email, LoopbackTesseraServer.Password);
        Assert.Contains("Your account is banned until 2099-01-02 03:04 UTC.", await banned.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);

        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/unban");
        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/deactivate");
        var deactivated = await SubmitSignInAsync(browser, email, LoopbackTesseraServer.Password);
        Assert.Contains("Your account has been deactivated.", await deactivated.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sign_in_posted_from_another_site_without_the_form_token_signs_no_one_in()
    {
        // Login CSRF: another site's page posts the attacker's credentials so that the victim's browser ends up signed
        // in as the attacker. The form's antiforgery token (and its cookie) is what such a post cannot have.
        var (email, _) = await tessera.NewUserAsync();
        var cookies = new CookieContainer();
        using var browser = Browser(cookies);

        var forged = await browser.PostAsync("/signin", new FormUrlEncodedContent(
        [
            KeyValuePair.Create("returnUrl", "/"),
            KeyValuePair.Create("email", email),
            KeyValuePair.Create("password", LoopbackTesseraServer.Password),
        ]), Cancellation);

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("This form has expired or was sent from another site.", await forged.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.DoesNotContain(cookies.GetAllCookies(), cookie => cookie.Name == TesseraDefaults.CookieName);
        var home = await browser.GetAsync("/", Cancellation);
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
        Assert.StartsWith("/signin", home.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    private HttpClient Browser(CookieContainer cookies)
    {
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = cookies, UseCookies = true })
        {
            BaseAddress = new Uri(_portal.BaseUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };
        client.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml");
        return client;
    }

    /// <summary>A script's call: the browser's cookie, JSON accepted (so refusals are problems, not redirects).</summary>
    private static Task<HttpResponseMessage> ApiAsync(HttpClient browser, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("application/json");
        return browser.SendAsync(request, Cancellation);
    }

    private static async Task<HttpResponseMessage> SubmitSignInAsync(HttpClient browser, string email, string password)
    {
        var form = await browser.GetStringAsync("/signin", Cancellation);
        var token = AntiforgeryField().Match(form);
        Assert.True(token.Success, form);
        return await browser.PostAsync("/signin", new FormUrlEncodedContent(
        [
            KeyValuePair.Create(token.Groups[1].Value, WebUtility.HtmlDecode(token.Groups[2].Value)),
            KeyValuePair.Create("returnUrl", "/"),
            KeyValuePair.Create("email", email),
            KeyValuePair.Create("password", password),
        ]), Cancellation);
    }

    [GeneratedRegex("""<input type="hidden" name="([^"]+)" value="([^"]+)">""")]
    private static partial Regex AntiforgeryField();
}
