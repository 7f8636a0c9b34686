using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Auth;

/// <summary>PATCH /v1/auth/me: a person changes their own display name.</summary>
public sealed class ProfileTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Changing_the_display_name_gives_200_with_the_user_and_the_next_whoami_shows_it_while_every_session_holds()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var current = _app.WithToken(user.Sessions[0].Token);
        await (await current.Get("/v1/auth/session")).AssertOkJsonAsync();

        var body = await (await current.Patch("/v1/auth/me", new { displayName = "  Ada Lovelace  " })).AssertOkJsonAsync();

        Assert.Equal("Ada Lovelace", body.GetProperty("user").Str("displayName"));
        Assert.Equal(user.Email, body.GetProperty("user").Str("email"));
        using var other = _app.WithToken(user.Sessions[1].Token);
        var whoami = await (await other.Get("/v1/auth/session")).AssertOkJsonAsync();
        Assert.Equal("Ada Lovelace", whoami.GetProperty("user").Str("displayName"));
    }

    [Theory]
    [InlineData("""{"displayName": "   "}""")]
    [InlineData("""{"displayName": null}""")]
    [InlineData("""{}""")]
    [InlineData("""{"displayName": 7}""")]
    public async Task A_missing_or_blank_name_gives_400_validation_failed_and_changes_nothing(string json)
    {
        var user = await _app.NewUserAsync();
        using var current = _app.WithToken(user.Token);
        var before = (await (await current.Get("/v1/auth/session")).AssertOkJsonAsync()).GetProperty("user").Str("displayName");

        using var request = new HttpRequestMessage(HttpMethod.Patch, "/v1/auth/me") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        await (await current.Submit(request)).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");

        var after = (await (await current.Get("/v1/auth/session")).AssertOkJsonAsync()).GetProperty("user").Str("displayName");
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task Without_a_session_it_gives_401()
    {
        using var anonymous = _app.Anonymous();

        await (await anonymous.Patch("/v1/auth/me", new { displayName = "Nobody" })).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }
}
