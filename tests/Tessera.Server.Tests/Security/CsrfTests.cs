using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

/// <summary>A page on another site must not be able to end sessions with the browser's cookie.</summary>
public sealed class CsrfTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    public static TheoryData<string, string> CrossSiteHeaders => new()
    {
        { "Sec-Fetch-Site", "cross-site" },
        { "Sec-Fetch-Site", "same-site" },
        { "Origin", "https://evil.example" },
        { "Origin", "null" },
    };

    [Theory]
    [MemberData(nameof(CrossSiteHeaders))]
    public async Task A_cross_site_cookie_request_cannot_sign_out_all_devices(string header, string value)
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var browser = _app.WithCookie(user.Token);

        var response = await browser.Submit(CrossSite(HttpMethod.Post, "/v1/sessions/revoke-all", header, value));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "csrf_failed");
        await AssertSessionsHoldAsync(user);
    }

    [Theory]
    [MemberData(nameof(CrossSiteHeaders))]
    public async Task A_cross_site_cookie_request_cannot_end_one_session(string header, string value)
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var browser = _app.WithCookie(user.Sessions[0].Token);

        var response = await browser.Submit(CrossSite(HttpMethod.Delete, $"/v1/sessions/{user.Sessions[1].SessionId}", header, value));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "csrf_failed");
        await AssertSessionsHoldAsync(user);
    }

    [Fact]
    public async Task A_cross_site_cookie_request_cannot_sign_out_or_revoke_others_or_change_the_password()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var browser = _app.WithCookie(user.Sessions[0].Token);

        await (await browser.Submit(CrossSite(HttpMethod.Post, "/v1/auth/logout", "Sec-Fetch-Site", "cross-site")))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "csrf_failed");
        await (await browser.Submit(CrossSite(HttpMethod.Post, "/v1/sessions/revoke-others", "Origin", "https://evil.example")))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "csrf_failed");
        var change = CrossSite(HttpMethod.Post, "/v1/auth/password/change", "Sec-Fetch-Site", "cross-site");
        change.Content = new StringContent("""{"currentPassword": "correct-horse-1", "newPassword": "attacker-password-1"}""", System.Text.Encoding.UTF8, "application/json");
        await (await browser.Submit(change)).AssertProblemAsync(HttpStatusCode.Forbidden, "csrf_failed");

        await AssertSessionsHoldAsync(user);
        await _app.LoginAsync(user.Email);
    }

    [Fact]
    public async Task A_cross_site_cookie_request_cannot_act_as_an_admin()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        var admin = await _app.LoginAdminAsync();
        using var adminBrowser = _app.WithCookie(admin.Token);

        var response = await adminBrowser.Submit(CrossSite(HttpMethod.Post, $"/v1/admin/users/{user.Id}/deactivate", "Sec-Fetch-Site", "cross-site"));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "csrf_failed");
        await AssertSessionsHoldAsync(user);
    }

    [Theory]
    [InlineData("Sec-Fetch-Site", "same-origin")]
    [InlineData("Origin", "http://localhost")]
    [InlineData(null, null)]
    public async Task The_same_request_from_the_same_origin_succeeds(string? header, string? value)
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var browser = _app.WithCookie(user.Sessions[0].Token);
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/v1/sessions/{user.Sessions[1].SessionId}");
        if (header is not null)
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        var response = await browser.Submit(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [Fact]
    public async Task A_cross_site_read_with_the_cookie_is_allowed()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var browser = _app.WithCookie(user.Token);

        var response = await browser.Submit(CrossSite(HttpMethod.Get, "/v1/auth/session", "Sec-Fetch-Site", "cross-site"));

        await response.AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_Bearer_request_is_not_subject_to_the_cookie_checks()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var client = _app.WithToken(user.Sessions[0].Token);

        var response = await client.Submit(CrossSite(HttpMethod.Delete, $"/v1/sessions/{user.Sessions[1].SessionId}", "Origin", "https://app.elsewhere.example"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private static HttpRequestMessage CrossSite(HttpMethod method, string path, string header, string value)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation(header, value);
        return request;
    }

    private async Task AssertSessionsHoldAsync(TestUser user)
    {
        foreach (var session in user.Sessions)
        {
            using var client = _app.WithToken(session.Token);
            await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        }
    }
}
