using System.Net;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Auth;

public sealed class RegisterTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Registering_returns_201_with_every_User_field()
    {
        using var client = _app.Anonymous();
        var email = TesseraApp.NewEmail("ada");

        var response = await client.Post("/v1/auth/register", new { email, password = TesseraApp.Password, displayName = "Ada Lovelace" });

        var body = await response.AssertOkJsonAsync(HttpStatusCode.Created);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var user = body.GetProperty("user");
        JsonShapes.AssertUser(user);
        Assert.StartsWith("usr_", user.Id(), StringComparison.Ordinal);
        Assert.Equal(email, user.Str("email"));
        Assert.Equal("Ada Lovelace", user.Str("displayName"));
        Assert.Equal("user", user.Str("role"));
        Assert.Equal("active", user.Str("status"));
        Assert.False(user.GetProperty("banned").GetBoolean());
        Assert.Equal(JsonValueKind.Null, user.GetProperty("bannedUntil").ValueKind);
        var createdAt = JsonShapes.AssertUtcTimestamp(user.GetProperty("createdAt"));
        Assert.InRange(createdAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task A_registered_user_can_sign_in_with_the_password_they_chose()
    {
        var email = TesseraApp.NewEmail();
        var id = await _app.RegisterAsync(email);

        var signedIn = await _app.LoginAsync(email);

        Assert.Equal(id, signedIn.UserId);
    }

    [Fact]
    public async Task Registering_without_a_display_name_gives_one()
    {
        using var client = _app.Anonymous();
        var email = TesseraApp.NewEmail("noname");

        var body = await (await client.Post("/v1/auth/register", new { email, password = TesseraApp.Password })).AssertOkJsonAsync(HttpStatusCode.Created);

        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("user").Str("displayName")));
    }

    [Fact]
    public async Task Registering_an_email_that_is_taken_gives_409_email_taken()
    {
        var email = TesseraApp.NewEmail();
        await _app.RegisterAsync(email);
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/register", new { email, password = "another-pass-phrase-9" });

        await response.AssertProblemAsync(HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task The_same_email_in_different_case_is_taken_too()
    {
        var email = TesseraApp.NewEmail("Mixed.Case");
        await _app.RegisterAsync(email.ToLowerInvariant());
        using var client = _app.Anonymous();

        var upper = await client.Post("/v1/auth/register", new { email = email.ToUpperInvariant(), password = TesseraApp.Password });
        var padded = await client.Post("/v1/auth/register", new { email = $"  {email}  ", password = TesseraApp.Password });

        await upper.AssertProblemAsync(HttpStatusCode.Conflict, "email_taken");
        await padded.AssertProblemAsync(HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task An_email_registered_in_capitals_signs_in_in_lower_case()
    {
        var email = TesseraApp.NewEmail("CAPS");
        await _app.RegisterAsync(email.ToUpperInvariant());

        var signedIn = await _app.LoginAsync(email.ToLowerInvariant());

        Assert.Equal(email.ToLowerInvariant(), signedIn.Body.GetProperty("user").Str("email"));
    }

    [Theory]
    [InlineData("short1", "at least 8 characters")]
    [InlineData("aaaaaaaaaaaa", "repeated characters")]
    [InlineData("password", "most common passwords")]
    [InlineData("12345678", "most common passwords")]
    [InlineData("Password1", "most common passwords")]
    [InlineData("qwertyuiop", "most common passwords")]
    public async Task A_short_common_or_guessable_password_gives_400_weak_password_saying_why(string password, string why)
    {
        using var client = _app.Anonymous();
        var email = TesseraApp.NewEmail();

        var response = await client.Post("/v1/auth/register", new { email, password });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");
        Assert.Contains(why, problem.Str("detail"), StringComparison.Ordinal);
        Assert.True(problem.GetProperty("errors").TryGetProperty("password", out _));
        await (await client.Post("/v1/auth/login", new { email, password })).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Fact]
    public async Task A_password_made_of_the_persons_own_name_is_refused_as_weak()
    {
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/register", new { email = TesseraApp.NewEmail("zebulon"), password = "Zebulonquartz", displayName = "Zebulon Quartz" });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");
        Assert.Contains("your email address or name", problem.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_password_gives_400_validation_failed()
    {
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/register", new { email = TesseraApp.NewEmail(), password = "" });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_password_of_256_characters_is_accepted_and_257_is_refused()
    {
        using var client = _app.Anonymous();
        var longest = string.Concat(Enumerable.Repeat("correct-horse-battery-staple-", 9))[..256];
        var email = TesseraApp.NewEmail("long");

        await (await client.Post("/v1/auth/register", new { email = TesseraApp.NewEmail(), password = longest + "x" })).AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");
        await (await client.Post("/v1/auth/register", new { email, password = longest })).AssertOkJsonAsync(HttpStatusCode.Created);

        await _app.LoginAsync(email, longest);
    }

    [Fact]
    public async Task A_password_with_non_ASCII_characters_works()
    {
        using var client = _app.Anonymous();
        var email = TesseraApp.NewEmail("unicode");
        const string password = "pässwört-ünïcødé-密码-🔑";

        await (await client.Post("/v1/auth/register", new { email, password })).AssertOkJsonAsync(HttpStatusCode.Created);

        await _app.LoginAsync(email, password);
    }

    [Fact]
    public async Task A_password_equal_to_the_email_is_refused()
    {
        using var client = _app.Anonymous();
        var email = TesseraApp.NewEmail();

        var response = await client.Post("/v1/auth/register", new { email, password = email });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("user@")]
    [InlineData("@example.com")]
    [InlineData("user@localhost")]
    [InlineData("two@@example.com")]
    [InlineData("Ada <ada@example.com>")]
    [InlineData("   ")]
    public async Task A_bad_email_gives_400_validation_failed(string email)
    {
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/register", new { email, password = TesseraApp.Password });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task An_email_longer_than_254_characters_is_refused()
    {
        using var client = _app.Anonymous();
        var email = new string('a', 250) + "@example.com";

        var response = await client.Post("/v1/auth/register", new { email, password = TesseraApp.Password });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("""{"password": "correct-horse-1"}""")]
    [InlineData("""{"email": "missing-password@example.com"}""")]
    [InlineData("""{}""")]
    [InlineData("""{"email": null, "password": null}""")]
    public async Task Missing_fields_give_400_validation_failed(string json)
    {
        using var client = _app.Anonymous();

        var response = await client.PostRaw("/v1/auth/register", json);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_validation_problem_names_the_field()
    {
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/register", new { email = "nope", password = TesseraApp.Password });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(problem.TryGetProperty("errors", out var errors), $"no errors member: {problem}");
        Assert.True(errors.TryGetProperty("email", out _), $"errors do not name email: {errors}");
    }

    [Fact]
    public async Task A_display_name_with_control_characters_is_refused()
    {
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/register", new { email = TesseraApp.NewEmail(), password = TesseraApp.Password, displayName = "Bad\u0000Name" });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_display_name_of_more_than_100_characters_is_refused()
    {
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/register", new { email = TesseraApp.NewEmail(), password = TesseraApp.Password, displayName = new string('d', 101) });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Registering_writes_a_user_registered_audit_event()
    {
        var id = await _app.RegisterAsync(TesseraApp.NewEmail());
        using var admin = await _app.AdminAsync();

        var events = (await (await admin.Get($"/v1/admin/audit?userId={id}&action=user.registered")).AssertOkJsonAsync()).Items("events");

        var registered = Assert.Single(events);
        JsonShapes.AssertAuditEvent(registered);
        Assert.Equal(id, registered.Str("targetUserId"));
        Assert.Equal("user", registered.GetProperty("actor").Str("kind"));
        Assert.Equal(id, registered.GetProperty("actor").Str("id"));
    }
}
