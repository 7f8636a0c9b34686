using System.Net;
using System.Text;
using Tessera.Server.Tests.Infrastructure;
using Tessera.Testing;

namespace Tessera.Server.Tests.Probing;

/// <summary>
/// The inputs that gave a 500 when the server was probed from outside (issue 7), each against a real server on a
/// loopback port: every one gets a 4xx problem with a code, or the page's ordinary answer.
/// </summary>
public sealed class ProbedInputTests(LoopbackApp app) : IClassFixture<LoopbackApp>
{
    private const string Json = """{"email": "a@example.com", "password": "correct-horse-1", "currentPassword": "x", "newPassword": "y"}""";

    public static TheoryData<string, string> CharsetsOnBodies => new()
    {
        { "/v1/auth/register", "bogus" },
        { "/v1/auth/register", "utf-7" },
        { "/v1/auth/login", "bogus" },
        { "/v1/auth/login", "utf-7" },
        { "/v1/auth/password/change", "bogus" },
        { "/v1/auth/password/change", "utf-7" },
        { "/v1/auth/password/reset-request", "bogus" },
        { "/v1/auth/password/reset-request", "utf-7" },
    };

    [Theory]
    [MemberData(nameof(CharsetsOnBodies))]
    public async Task A_JSON_body_in_a_charset_other_than_UTF8_is_refused_with_415(string path, string charset)
    {
        using var client = app.Server.Api(await app.LoginAsync(await app.NewUserAsync()));
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Json));
        content.Headers.TryAddWithoutValidation("Content-Type", $"application/json; charset={charset}");

        var response = await client.PostAsync(path, content, TestContext.Current.CancellationToken);

        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Fact]
    public async Task A_JSON_body_declared_as_UTF8_in_any_spelling_is_read()
    {
        using var client = app.Server.Api();
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes($$"""{"email": "{{TesseraApp.NewEmail()}}", "password": "correct-horse-1"}"""));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=\"UTF-8\"");

        var response = await client.PostAsync("/v1/auth/register", content, TestContext.Current.CancellationToken);

        await response.AssertOkJsonAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task The_admin_page_of_a_blank_user_id_is_not_found()
    {
        using var browser = app.Browser(await app.LoginAdminAsync());

        var response = await browser.Get("/admin/users/%20");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_ban_of_the_user_id_slash_is_not_found()
    {
        using var admin = app.Server.Api(await app.LoginAdminAsync());

        var response = await admin.PostRaw("/v1/admin/users/%2F/ban", "{}");

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task A_signed_in_visit_to_login_with_a_non_ASCII_return_path_goes_there_percent_encoded()
    {
        using var browser = app.Browser(await app.LoginAsync(await app.NewUserAsync()));

        var response = await browser.Get("/login?returnUrl=/%C3%A9t%C3%A9");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/%C3%A9t%C3%A9", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Signing_in_with_a_non_ASCII_return_path_goes_there_percent_encoded()
    {
        var email = await app.NewUserAsync();
        using var client = app.Server.Api();
        using var form = await client.PageFormAsync("/login?returnUrl=/%C3%A9t%C3%A9", [new("Email", email), new("Password", LoopbackTesseraServer.Password)]);

        var response = await client.SendAsync(form, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/%C3%A9t%C3%A9", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("/%E2%80%A8")]
    [InlineData("/%E3%80%80/evil.example")]
    [InlineData("/%E2%80%AE/evil.example")]
    [InlineData("/%09/evil.example")]
    public async Task A_return_path_with_invisible_or_control_characters_goes_home_instead(string returnUrl)
    {
        using var browser = app.Browser(await app.LoginAsync(await app.NewUserAsync()));

        var response = await browser.Get($"/login?returnUrl={returnUrl}");

        Assert.True(response.StatusCode == HttpStatusCode.Redirect, await response.ReadTextAsync());
        Assert.Equal("/account", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("/%E2%80%A8")]
    [InlineData("/%E3%80%80/evil.example")]
    [InlineData("/%C3%A9t%C3%A9")]
    public async Task The_sign_in_page_with_an_odd_return_path_is_shown(string returnUrl)
    {
        using var client = app.Server.Api();

        var response = await client.Get($"/login?returnUrl={returnUrl}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_login_with_an_unparsable_Accept_Language_and_an_empty_forwarded_scheme_is_answered()
    {
        var email = await app.NewUserAsync();
        using var client = app.Server.Api();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/login")
        {
            Content = new StringContent($$"""{"email": "{{email}}", "password": "{{LoopbackTesseraServer.Password}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Accept-Language", "en;q=abc");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "");

        var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        await response.AssertOkJsonAsync();
    }

    [Theory]
    [InlineData("DELETE", "/v1/sessions/ses_%00")]
    [InlineData("GET", "/v1/admin/users/usr_%00")]
    [InlineData("GET", "/v1/admin/users/usr_%00/sessions")]
    [InlineData("POST", "/v1/admin/users/usr_%00/ban")]
    [InlineData("GET", "/admin/users/usr_%00")]
    public async Task A_NUL_in_a_path_is_refused_with_400(string method, string path)
    {
        using var client = app.Server.Api(await app.LoginAdminAsync());
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(response.Content.Headers.ContentLength is 0 || response.Content.Headers.ContentType?.MediaType == "application/problem+json",
            $"{(int)response.StatusCode}: {await response.ReadTextAsync()}");
    }
}
