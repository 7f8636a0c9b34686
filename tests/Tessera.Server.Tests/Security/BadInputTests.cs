using System.Net;
using System.Text;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

/// <summary>Bad input gets a 4xx problem with a code: never a 500, never a partial write.</summary>
public sealed class BadInputTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    public static TheoryData<string> AnonymousBodies => new()
    {
        "/v1/auth/register",
        "/v1/auth/login",
        "/v1/auth/password/reset-request",
        "/v1/auth/password/reset",
    };

    public static TheoryData<string, string> BadJson => new()
    {
        { "malformed", """{"email": "a@example.com", "password": """ },
        { "not json", "email=a@example.com&password=x" },
        { "wrong type", """{"email": 5, "password": "correct-horse-1"}""" },
        { "wrong type object", """{"email": {"nested": true}, "password": "correct-horse-1"}""" },
        { "wrong type bool", """{"email": "a@example.com", "password": true}""" },
        { "array", """[{"email": "a@example.com", "password": "correct-horse-1"}]""" },
        { "string", "\"just a string\"" },
        { "number", "42" },
        { "null", "null" },
        { "empty object", "{}" },
        { "empty", "" },
        { "whitespace", "   " },
        { "trailing garbage", """{"email": "a@example.com", "password": "correct-horse-1"} trailing""" },
        { "deep nesting", new string('[', 5000) + new string(']', 5000) },
    };

    [Theory]
    [MemberData(nameof(BadJson))]
    public async Task Bad_JSON_for_register_gives_400_validation_failed(string what, string json)
    {
        using var client = _app.Anonymous();

        var response = await client.PostRaw("/v1/auth/register", json);

        Assert.NotNull(what);
        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [MemberData(nameof(BadJson))]
    public async Task Bad_JSON_for_login_gives_400_validation_failed(string what, string json)
    {
        using var client = _app.Anonymous();

        var response = await client.PostRaw("/v1/auth/login", json);

        Assert.NotNull(what);
        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("""{"email": "a@example.com", "password": "correct-horse-1", "device": "laptop"}""")]
    [InlineData("""{"email": "a@example.com", "password": "correct-horse-1", "device": {"name": 7}}""")]
    [InlineData("""{"email": "a@example.com", "password": "correct-horse-1", "useCookie": "yes"}""")]
    public async Task Wrong_types_inside_the_login_body_give_400_validation_failed(string json)
    {
        using var client = _app.Anonymous();

        var response = await client.PostRaw("/v1/auth/login", json);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("/v1/auth/password/change", """{"currentPassword": 1, "newPassword": 2}""")]
    [InlineData("/v1/auth/password/change", "[]")]
    [InlineData("/v1/auth/password/change", "{")]
    [InlineData("/v1/auth/password/change", "")]
    public async Task Bad_JSON_on_a_signed_in_endpoint_gives_400_validation_failed(string path, string json)
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var response = await client.PostRaw(path, json);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Theory]
    [InlineData("""{"reason": 12}""")]
    [InlineData("""{"until": 12}""")]
    [InlineData("[1, 2]")]
    [InlineData("{")]
    public async Task Bad_JSON_for_an_admin_ban_gives_400_and_bans_nobody(string json)
    {
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();

        var response = await admin.PostRaw($"/v1/admin/users/{user.Id}/ban", json);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Theory]
    [InlineData("""{"action": 1, "userIds": []}""")]
    [InlineData("""{"action": "ban", "userIds": [1, 2]}""")]
    [InlineData("""{"action": "ban", "userIds": {"a": 1}}""")]
    [InlineData("[]")]
    [InlineData("")]
    public async Task Bad_JSON_for_bulk_gives_400_validation_failed(string json)
    {
        using var admin = await _app.AdminAsync();

        var response = await admin.PostRaw("/v1/admin/users/bulk", json);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [MemberData(nameof(AnonymousBodies))]
    public async Task A_body_with_no_content_at_all_gives_400_validation_failed(string path)
    {
        using var client = _app.Anonymous();

        var response = await client.Post(path);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [MemberData(nameof(AnonymousBodies))]
    public async Task A_one_megabyte_body_is_refused_with_a_code(string path)
    {
        using var client = _app.Anonymous();
        var huge = $$"""{"email": "{{new string('a', 1024 * 1024)}}@example.com", "password": "correct-horse-1"}""";

        var response = await client.PostRaw(path, huge);

        await AssertRefusedWithCodeAsync(response, "payload_too_large");
    }

    [Fact]
    public async Task A_one_megabyte_body_sent_without_a_length_is_refused_with_a_code()
    {
        using var client = _app.Anonymous();
        var huge = Encoding.UTF8.GetBytes($$"""{"email": "{{new string('a', 1024 * 1024)}}@example.com", "password": "correct-horse-1"}""");
        using var content = new StreamContent(new NonSeekableStream(huge));
        content.Headers.ContentType = new("application/json");

        var response = await client.PostAsync("/v1/auth/register", content, TestContext.Current.CancellationToken);

        Assert.Null(content.Headers.ContentLength);
        await AssertRefusedWithCodeAsync(response, "payload_too_large");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/xml")]
    public async Task A_wrong_content_type_is_refused_with_a_code(string mediaType)
    {
        using var client = _app.Anonymous();

        var response = await client.PostRaw("/v1/auth/login", """{"email": "a@example.com", "password": "correct-horse-1"}""", mediaType);

        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType, $"{(int)response.StatusCode} {await response.ReadTextAsync()}");
        await response.AssertProblemAsync(response.StatusCode, response.StatusCode == HttpStatusCode.BadRequest ? "validation_failed" : "unsupported_media_type");
    }

    [Fact]
    public async Task Invalid_UTF8_in_the_body_gives_400_validation_failed()
    {
        using var client = _app.Anonymous();
        var bytes = "{\"email\": \"a@example.com\", \"password\": \""u8.ToArray().Concat(new byte[] { 0xC3, 0x28, 0xFF }).Concat("\"}"u8.ToArray()).ToArray();
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");

        var response = await client.PostAsync("/v1/auth/login", content, TestContext.Current.CancellationToken);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("/nope")]
    [InlineData("/v1/nope")]
    [InlineData("/v1/auth/nope")]
    [InlineData("/v2/auth/session")]
    public async Task An_unknown_path_gives_a_404_problem_with_a_code(string path)
    {
        using var client = _app.Anonymous();

        var response = await client.Get(path);

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task A_wrong_method_gives_a_405_problem_with_a_code()
    {
        using var client = _app.Anonymous();

        var response = await client.Get("/v1/auth/login");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        await response.AssertProblemAsync(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    // A browser asking for a page at an unknown address outside the API gets the console's 404 page instead
    // (Tessera.Web.Tests.AccountTests.An_unknown_address_shows_a_page_to_a_browser_and_problem_json_to_an_API_client).
    [Theory]
    [InlineData("/nope", "application/json")]
    [InlineData("/nope", "image/png")]
    [InlineData("/v1/nope", "text/html,application/xhtml+xml")]
    [InlineData("/v1/auth/session/nope", "image/png")]
    public async Task An_unknown_API_path_or_a_non_page_request_gives_a_problem_with_a_code_whatever_the_Accept_header_asks_for(string path, string accept)
    {
        using var client = _app.Anonymous();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Accept", accept);

        var response = await client.Get(path);

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task A_page_form_posted_without_its_antiforgery_token_gives_a_400_problem_with_a_code()
    {
        using var client = _app.Anonymous();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Accept", "text/html");
        using var form = new FormUrlEncodedContent([new("Email", "a@example.com"), new("Password", TesseraApp.Password)]);

        var response = await client.PostAsync("/login", form, TestContext.Current.CancellationToken);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("a[=1")]
    [InlineData("Email]=x&a[b=2")]
    public async Task A_form_or_query_key_with_an_unclosed_bracket_is_an_ordinary_field(string pairs)
    {
        using var client = _app.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/login?{pairs}")
        {
            Content = new StringContent(pairs, Encoding.UTF8, "application/x-www-form-urlencoded"),
        };

        var response = await client.Submit(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("ses_%01")]
    [InlineData("%E2%98%83")]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("' OR 1=1 --")]
    public async Task Odd_session_ids_give_404_not_found(string id)
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var response = await client.Delete($"/v1/sessions/{id}");

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_five_thousand_character_id_gives_404_not_found()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        using var admin = await _app.AdminAsync();
        var id = new string('x', 5000);

        await (await client.Delete($"/v1/sessions/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await admin.Get($"/v1/admin/users/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task A_search_that_looks_like_SQL_is_plain_text()
    {
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Get($"/v1/admin/users?search={Uri.EscapeDataString("' OR 1=1 --")}")).AssertOkJsonAsync();

        Assert.Equal(0, body.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Problems_never_echo_the_password()
    {
        using var client = _app.Anonymous();
        const string secret = "my-secret-password-123";

        var register = await client.Post("/v1/auth/register", new { email = "not-an-email", password = secret });
        var login = await client.Post("/v1/auth/login", new { email = TesseraApp.NewEmail(), password = secret });

        Assert.DoesNotContain(secret, await register.ReadTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, await login.ReadTextAsync(), StringComparison.Ordinal);
    }

    private static async Task AssertRefusedWithCodeAsync(HttpResponseMessage response, string tooLargeCode)
    {
        var text = await response.ReadTextAsync();
        Assert.True(response.StatusCode is HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text[..Math.Min(text.Length, 500)]}");
        await response.AssertProblemAsync(response.StatusCode, response.StatusCode == HttpStatusCode.BadRequest ? "validation_failed" : tooLargeCode);
    }

    /// <summary>A body whose length the client cannot know in advance, so it is sent chunked.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
