using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Tessera.Core.Audit;
using Tessera.Core.ExternalLogin;
using Tessera.Server.Tests.Infrastructure;
using Tessera.Testing;

namespace Tessera.Server.Tests.ExternalLogin;

/// <summary>
/// The desktop and CLI flow (RFC 8252) over HTTP against the real test provider: the start with a loopback
/// <c>redirect_uri</c>, PKCE and <c>state</c>; the callback's redirect to that listener with a one-time code (or the
/// refusal); the exchange for a session on the client's device. The legs are driven by hand so each can be spoiled.
/// (The code's minute is shown with the fake clock in Tessera.Core.Tests: the provider's handler does not run on it.)
/// </summary>
public sealed class LoopbackSignInTests : IAsyncLifetime
{
    private const string Name = LoopbackFlow.Name;
    private const string Listener = LoopbackFlow.Listener;

    private TestOpenIdProvider _provider = null!;
    private TesseraApp _app = null!;
    private LoopbackFlow _flow = null!;

    public async ValueTask InitializeAsync()
    {
        _provider = await TestOpenIdProvider.StartAsync(LoopbackFlow.CallbackUri);
        _app = new TesseraApp(settings: _provider.TesseraSettings(Name, "Corp ID"));
        _flow = new LoopbackFlow(_app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task The_listener_gets_a_one_time_code_and_the_exchange_makes_a_session_for_the_clients_device()
    {
        var person = ProviderPerson.New();
        _provider.Person = person;
        var verifier = LoopbackFlow.NewVerifier();

        var back = await _flow.RoundTripAsync(verifier, state: "s-123");

        // Back at the client's own listener, with its state; no cookie for this browser.
        Assert.StartsWith(Listener + "?", back.Location, StringComparison.Ordinal);
        Assert.Equal("s-123", back.Query["state"]);
        Assert.False(back.Query.ContainsKey("error"));
        Assert.DoesNotContain(back.SetCookies, cookie => cookie.StartsWith("tessera_session=", StringComparison.Ordinal));

        using var client = _app.Anonymous();
        client.DefaultRequestHeaders.UserAgent.ParseAdd("tessera-desktop/2.0");
        var body = await (await client.Post("/v1/auth/external/exchange", new
        {
            code = back.Query["code"].ToString(),
            codeVerifier = verifier,
            device = new { name = "Ada's laptop", platform = "desktop", os = "Debian 13" },
        })).AssertOkJsonAsync();

        var token = body.GetProperty("token").GetString()!;
        var device = body.GetProperty("session").GetProperty("device");
        Assert.Equal("Ada's laptop", device.GetProperty("name").GetString());
        Assert.Equal("desktop", device.GetProperty("platform").GetString());
        Assert.Equal("Debian 13", device.GetProperty("os").GetString());
        Assert.Equal(person.Email, body.GetProperty("user").GetProperty("email").GetString());
        var me = await (await _app.WithToken(token).Get("/v1/auth/session")).AssertOkJsonAsync();
        var userId = me.GetProperty("user").GetProperty("id").GetString()!;
        Assert.Contains(await _flow.AuditAsync(userId, AuditActions.SessionCreated), e => e.Reason == Name);

        Assert.NotNull(await _flow.FirstSessionAsync(userId));

        // Spent: what a replay does to the session is LoopbackReplayTests'.
        var replay = await client.Post("/v1/auth/external/exchange", new { code = back.Query["code"].ToString(), codeVerifier = verifier });
        await replay.AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_used");
    }

    [Theory]
    [InlineData("http://localhost:49152/cb")]
    [InlineData("https://127.0.0.1:49152/cb")]
    [InlineData("http://example.com:49152/cb")]
    [InlineData("http://10.0.0.1:49152/cb")]
    [InlineData("http://127.0.0.1:49152/cb#fragment")]
    [InlineData("http://user@127.0.0.1:49152/cb")]
    [InlineData("/relative/cb")]
    [InlineData("myapp://callback")]
    public async Task A_redirect_uri_that_is_not_a_loopback_ip_literal_is_refused(string redirectUri)
    {
        using var client = _app.Anonymous();
        var response = await client.Get(LoopbackFlow.StartPath(redirectUri, Pkce.ChallengeOf(LoopbackFlow.NewVerifier()), "S256", "s"));
        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "external_redirect_not_loopback");
    }

    [Theory]
    [InlineData("plain", "code_challenge_method")]
    [InlineData(null, "code_challenge_method")]
    [InlineData("S256", "code_challenge")]
    [InlineData("S256", "state")]
    public async Task A_start_without_an_s256_challenge_or_a_state_is_refused(string? method, string field)
    {
        var challenge = field == "code_challenge" ? "too-short" : Pkce.ChallengeOf(LoopbackFlow.NewVerifier());
        var state = field == "state" ? null : "s";
        using var client = _app.Anonymous();
        var problem = await (await client.Get(LoopbackFlow.StartPath(Listener, challenge, method, state))).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains(field, problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Any_port_and_the_ipv6_loopback_are_accepted()
    {
        using var client = _app.Anonymous();
        foreach (var redirect in new[] { "http://[::1]:61000/done", "http://127.0.0.1:1/", "http://127.0.0.1/cb?from=app" })
        {
            var response = await client.Get(LoopbackFlow.StartPath(redirect, Pkce.ChallengeOf(LoopbackFlow.NewVerifier()), "S256", "s"));
            Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{redirect}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
        }
    }

    [Fact]
    public async Task A_wrong_verifier_is_refused_and_spends_the_code()
    {
        _provider.Person = ProviderPerson.New();
        var verifier = LoopbackFlow.NewVerifier();
        var back = await _flow.RoundTripAsync(verifier);
        using var client = _app.Anonymous();

        await (await client.Post("/v1/auth/external/exchange", new { code = back.Query["code"].ToString(), codeVerifier = LoopbackFlow.NewVerifier() }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_verifier_mismatch");

        // Whoever intercepted the code had one try; the client starts again.
        await (await client.Post("/v1/auth/external/exchange", new { code = back.Query["code"].ToString(), codeVerifier = verifier }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_used");
        Assert.Null(await _flow.UserIdOfAsync(_provider.Person.Email) is { } id ? await _flow.FirstSessionAsync(id) : null);
    }

    [Fact]
    public async Task A_code_tessera_never_issued_or_a_malformed_verifier_is_refused()
    {
        using var client = _app.Anonymous();
        var unknown = Base64UrlTextEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        await (await client.Post("/v1/auth/external/exchange", new { code = unknown, codeVerifier = LoopbackFlow.NewVerifier() }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_invalid");
        await (await client.Post("/v1/auth/external/exchange", new { code = "nonsense", codeVerifier = LoopbackFlow.NewVerifier() }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_invalid");
        await (await client.Post("/v1/auth/external/exchange", new { code = unknown, codeVerifier = "short" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await client.Post("/v1/auth/external/exchange", new { }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_invalid");
    }

    [Fact]
    public async Task An_account_banned_between_the_callback_and_the_exchange_gets_no_session()
    {
        _provider.Person = ProviderPerson.New();
        var verifier = LoopbackFlow.NewVerifier();
        var back = await _flow.RoundTripAsync(verifier);
        var userId = (await _flow.UserIdOfAsync(_provider.Person.Email))!;
        using var admin = await _app.AdminAsync();
        (await admin.Post($"/v1/admin/users/{userId}/ban", new { reason = "abuse" })).EnsureSuccessStatusCode();

        using var client = _app.Anonymous();
        var problem = await (await client.Post("/v1/auth/external/exchange", new { code = back.Query["code"].ToString(), codeVerifier = verifier }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");

        Assert.Equal("Your account is banned.", problem.GetProperty("detail").GetString());
        Assert.Null(await _flow.FirstSessionAsync(userId));
        Assert.Contains(await _flow.AuditAsync(userId, AuditActions.LoginFailed), e => e.Reason == $"account_banned via {Name}");
    }

    [Fact]
    public async Task A_person_refused_at_the_callback_is_sent_to_the_listener_with_the_code_and_the_sentence()
    {
        _provider.Person = ProviderPerson.New();
        var first = await _flow.RoundTripAsync(LoopbackFlow.NewVerifier());
        var userId = (await _flow.UserIdOfAsync(_provider.Person.Email))!;
        using var admin = await _app.AdminAsync();
        (await admin.Post($"/v1/admin/users/{userId}/deactivate")).EnsureSuccessStatusCode();

        var back = await _flow.RoundTripAsync(LoopbackFlow.NewVerifier(), state: "again");

        Assert.StartsWith(Listener + "?", back.Location, StringComparison.Ordinal);
        Assert.Equal("account_deactivated", back.Query["error"]);
        Assert.Equal("Your account has been deactivated.", back.Query["error_description"]);
        Assert.Equal("again", back.Query["state"]);
        Assert.False(back.Query.ContainsKey("code"));

        // And the code issued before the deactivation does not make a session either.
        using var client = _app.Anonymous();
        Assert.NotEqual(HttpStatusCode.OK, (await client.Post("/v1/auth/external/exchange", new { code = first.Query["code"].ToString(), codeVerifier = LoopbackFlow.NewVerifier() })).StatusCode);
        Assert.Null(await _flow.FirstSessionAsync(userId));
    }
}
