using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

/// <summary>No API answer may be kept by a cache or sniffed into another type: the login answer carries the token.</summary>
public sealed class ResponseHeaderTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task The_login_answer_that_carries_the_token_is_never_stored()
    {
        var email = TesseraApp.NewEmail();
        await _app.RegisterAsync(email);
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/login", new { email, password = TesseraApp.Password });

        await response.AssertOkJsonAsync();
        AssertNotStoredNorSniffed(response);
    }

    [Fact]
    public async Task Signed_in_answers_problems_and_401s_are_never_stored()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        using var anonymous = _app.Anonymous();

        AssertNotStoredNorSniffed(await client.Get("/v1/auth/session"));
        AssertNotStoredNorSniffed(await client.Get("/v1/sessions"));
        AssertNotStoredNorSniffed(await anonymous.Get("/v1/auth/session"));
        AssertNotStoredNorSniffed(await anonymous.PostRaw("/v1/auth/login", "{"));
        AssertNotStoredNorSniffed(await anonymous.Get("/v1/nope"));
        AssertNotStoredNorSniffed(await client.Delete("/v1/sessions/ses_unknown"));
        AssertNotStoredNorSniffed(await client.Post("/v1/sessions/revoke-all"));
    }

    [Fact]
    public async Task The_event_stream_keeps_its_own_cache_header_and_is_not_sniffed()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events");

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoCache == true, $"Cache-Control is '{response.Headers.CacheControl}'");
        Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
    }

    private static void AssertNotStoredNorSniffed(HttpResponseMessage response)
    {
        Assert.True(response.Headers.CacheControl?.NoStore == true, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: Cache-Control is '{response.Headers.CacheControl}'");
        Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out var values) && values.Single() == "nosniff",
            $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: no X-Content-Type-Options: nosniff");
    }
}
