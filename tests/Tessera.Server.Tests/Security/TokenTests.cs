using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

public sealed class TokenTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    public static TheoryData<string, string> OddAuthorizations => new()
    {
        { "empty bearer", "Bearer " },
        { "bearer alone", "Bearer" },
        { "short", "Bearer abc" },
        { "5000 characters", "Bearer " + new string('A', 5000) },
        { "non-ASCII", "Bearer Ünïcødé-tøkên-ÄÖÜ-ßßß-ÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ" },
        { "43 characters that name no session", "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
        { "43 characters not base64url", "Bearer !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" },
        { "44 characters with padding", "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
        { "basic scheme", "Basic dXNlcjpwYXNz" },
        { "no scheme", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
        { "two tokens", "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
        { "jwt", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9." },
    };

    [Theory]
    [MemberData(nameof(OddAuthorizations))]
    public async Task An_odd_token_gives_401_unauthenticated(string what, string authorization)
    {
        using var client = _app.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/auth/session");
        Assert.True(request.Headers.TryAddWithoutValidation("Authorization", authorization), what);

        var response = await client.Submit(request);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Theory]
    [MemberData(nameof(OddAuthorizations))]
    public async Task An_odd_token_on_an_admin_endpoint_gives_401_unauthenticated(string what, string authorization)
    {
        using var client = _app.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/users/bulk");
        Assert.True(request.Headers.TryAddWithoutValidation("Authorization", authorization), what);

        var response = await client.Submit(request);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("")]
    public async Task An_odd_cookie_gives_401_unauthenticated(string value)
    {
        using var browser = _app.WithCookie(value);

        var response = await browser.Get("/v1/auth/session");

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task The_scheme_is_case_insensitive()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/auth/session");
        request.Headers.TryAddWithoutValidation("Authorization", $"bearer {user.Token}");

        await (await client.Submit(request)).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_token_changed_by_one_character_is_unknown()
    {
        var user = await _app.NewUserAsync();
        var last = user.Token[^1];
        var tampered = user.Token[..^1] + (last == 'A' ? 'B' : 'A');
        using var client = _app.WithToken(tampered);

        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task A_session_id_is_not_a_token()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Session.SessionId);

        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task A_reset_token_is_not_a_session_token()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var anonymous = _app.Anonymous();
        await anonymous.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var resetToken = await _app.ReadResetTokenAsync(user.Email);
        using var client = _app.WithToken(resetToken!);

        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task When_both_are_sent_the_Bearer_token_wins_over_the_cookie()
    {
        var alice = await _app.NewUserAsync();
        var bob = await _app.NewUserAsync();
        using var client = _app.WithToken(alice.Token);
        client.DefaultRequestHeaders.Add("Cookie", $"tessera_session={bob.Token}");

        var whoami = await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();

        Assert.Equal(alice.Id, whoami.GetProperty("user").Id());
    }

    [Fact]
    public async Task An_unauthenticated_answer_says_the_same_for_unknown_and_malformed_tokens()
    {
        using var unknown = _app.WithToken("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        using var malformed = _app.WithToken("abc");

        var unknownProblem = await (await unknown.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
        var malformedProblem = await (await malformed.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");

        Assert.Equal(unknownProblem.Str("detail"), malformedProblem.Str("detail"));
    }
}
