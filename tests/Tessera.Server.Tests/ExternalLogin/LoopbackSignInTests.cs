using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Audit;
using Tessera.Core.ExternalLogin;
using Tessera.Core.Storage;
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
    private const string Name = "corp";
    private const string CallbackUri = "http://localhost/v1/auth/external/corp/callback";
    private const string Listener = "http://127.0.0.1:49152/tessera-callback";

    private TestOpenIdProvider _provider = null!;
    private TesseraApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        _provider = await TestOpenIdProvider.StartAsync(CallbackUri);
        _app = new TesseraApp(settings: _provider.TesseraSettings(Name, "Corp ID"));
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
        var verifier = NewVerifier();

        var back = await RoundTripAsync(verifier, state: "s-123");

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
        Assert.Contains(await AuditAsync(userId, AuditActions.SessionCreated), e => e.Reason == Name);

        // Only the code's hash is kept.
        await using (var read = await Store.BeginReadAsync(TestContext.Current.CancellationToken))
        {
            Assert.Single(await read.Sessions.ListUnrevokedAsync(userId, DateTimeOffset.UtcNow, TestContext.Current.CancellationToken));
        }

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
        var response = await client.Get(StartPath(redirectUri, Pkce.ChallengeOf(NewVerifier()), "S256", "s"));
        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "external_redirect_not_loopback");
    }

    [Theory]
    [InlineData("plain", "code_challenge_method")]
    [InlineData(null, "code_challenge_method")]
    [InlineData("S256", "code_challenge")]
    [InlineData("S256", "state")]
    public async Task A_start_without_an_s256_challenge_or_a_state_is_refused(string? method, string field)
    {
        var challenge = field == "code_challenge" ? "too-short" : Pkce.ChallengeOf(NewVerifier());
        var state = field == "state" ? null : "s";
        using var client = _app.Anonymous();
        var problem = await (await client.Get(StartPath(Listener, challenge, method, state))).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains(field, problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Any_port_and_the_ipv6_loopback_are_accepted()
    {
        using var client = _app.Anonymous();
        foreach (var redirect in new[] { "http://[::1]:61000/done", "http://127.0.0.1:1/", "http://127.0.0.1/cb?from=app" })
        {
            var response = await client.Get(StartPath(redirect, Pkce.ChallengeOf(NewVerifier()), "S256", "s"));
            Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{redirect}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
        }
    }

    [Fact]
    public async Task A_wrong_verifier_is_refused_and_spends_the_code()
    {
        _provider.Person = ProviderPerson.New();
        var verifier = NewVerifier();
        var back = await RoundTripAsync(verifier);
        using var client = _app.Anonymous();

        await (await client.Post("/v1/auth/external/exchange", new { code = back.Query["code"].ToString(), codeVerifier = NewVerifier() }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_verifier_mismatch");

        // Whoever intercepted the code had one try; the client starts again.
        await (await client.Post("/v1/auth/external/exchange", new { code = back.Query["code"].ToString(), codeVerifier = verifier }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_used");
        Assert.Null(await UserIdOfAsync(_provider.Person.Email) is { } id ? await FirstSessionAsync(id) : null);
    }

    [Fact]
    public async Task A_code_tessera_never_issued_or_a_malformed_verifier_is_refused()
    {
        using var client = _app.Anonymous();
        var unknown = Base64UrlTextEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        await (await client.Post("/v1/auth/external/exchange", new { code = unknown, codeVerifier = NewVerifier() }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "external_code_invalid");
        await (await client.Post("/v1/auth/external/exchange", new { code = "nonsense", codeVerifier = NewVerifier() }))
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
        var verifier = NewVerifier();
        var back = await RoundTripAsync(verifier);
        var userId = (await UserIdOfAsync(_provider.Person.Email))!;
        using var admin = await _app.AdminAsync();
        (await admin.Post($"/v1/admin/users/{userId}/ban", new { reason = "abuse" })).EnsureSuccessStatusCode();

        using var client = _app.Anonymous();
        var problem = await (await client.Post("/v1/auth/external/exchange", new { code = back.Query["code"].ToString(), codeVerifier = verifier }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");

        Assert.Equal("Your account is banned.", problem.GetProperty("detail").GetString());
        Assert.Null(await FirstSessionAsync(userId));
        Assert.Contains(await AuditAsync(userId, AuditActions.LoginFailed), e => e.Reason == $"account_banned via {Name}");
    }

    [Fact]
    public async Task A_person_refused_at_the_callback_is_sent_to_the_listener_with_the_code_and_the_sentence()
    {
        _provider.Person = ProviderPerson.New();
        var first = await RoundTripAsync(NewVerifier());
        var userId = (await UserIdOfAsync(_provider.Person.Email))!;
        using var admin = await _app.AdminAsync();
        (await admin.Post($"/v1/admin/users/{userId}/deactivate")).EnsureSuccessStatusCode();

        var back = await RoundTripAsync(NewVerifier(), state: "again");

        Assert.StartsWith(Listener + "?", back.Location, StringComparison.Ordinal);
        Assert.Equal("account_deactivated", back.Query["error"]);
        Assert.Equal("Your account has been deactivated.", back.Query["error_description"]);
        Assert.Equal("again", back.Query["state"]);
        Assert.False(back.Query.ContainsKey("code"));

        // And the code issued before the deactivation does not make a session either.
        using var client = _app.Anonymous();
        Assert.NotEqual(HttpStatusCode.OK, (await client.Post("/v1/auth/external/exchange", new { code = first.Query["code"].ToString(), codeVerifier = NewVerifier() })).StatusCode);
        Assert.Null(await FirstSessionAsync(userId));
    }

    // --- the round trip ---------------------------------------------------------------------------------------------

    private sealed record Arrival(string Location, Dictionary<string, Microsoft.Extensions.Primitives.StringValues> Query, IReadOnlyList<string> SetCookies);

    private static string NewVerifier() => Base64UrlTextEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    private static string StartPath(string redirectUri, string? challenge, string? method, string? state)
    {
        var query = new Dictionary<string, string?> { ["redirect_uri"] = redirectUri, ["code_challenge"] = challenge, ["code_challenge_method"] = method, ["state"] = state };
        return QueryHelpers.AddQueryString($"/v1/auth/external/{Name}/start", query.Where(p => p.Value is not null));
    }

    /// <summary>Start (as the client's browser), the provider's authorization endpoint, Tessera's callback: where the browser is sent then.</summary>
    private async Task<Arrival> RoundTripAsync(string verifier, string state = "state-1")
    {
        using var client = _app.Anonymous();
        var start = await client.Get(StartPath(Listener, Pkce.ChallengeOf(verifier), "S256", state));
        Assert.True(start.StatusCode == HttpStatusCode.Redirect, await start.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var cookies = new CookieContainer();
        foreach (var cookie in start.Headers.GetValues("Set-Cookie"))
        {
            cookies.SetCookies(new Uri(CallbackUri), cookie);
        }

        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var authorized = await browser.GetAsync(start.Headers.Location!, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, authorized.StatusCode);

        using var callback = new HttpRequestMessage(HttpMethod.Get, authorized.Headers.Location!.PathAndQuery);
        callback.Headers.Add("Cookie", cookies.GetCookieHeader(new Uri(CallbackUri)));
        callback.Headers.Add("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        var back = await client.SendAsync(callback, TestContext.Current.CancellationToken);
        Assert.True(back.StatusCode == HttpStatusCode.Redirect, $"{(int)back.StatusCode}: {await back.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
        var location = back.Headers.Location!.OriginalString;
        return new Arrival(location, QueryHelpers.ParseQuery(new Uri(location).Query),
            back.Headers.TryGetValues("Set-Cookie", out var set) ? [.. set] : []);
    }

    private ITesseraStore Store => _app.Services.GetRequiredService<ITesseraStore>();

    private async Task<string?> UserIdOfAsync(string email)
    {
        await using var read = await Store.BeginReadAsync(TestContext.Current.CancellationToken);
        return (await read.Users.FindByEmailAsync(Tessera.Core.Users.User.NormalizeEmail(email), TestContext.Current.CancellationToken))?.Id;
    }

    private async Task<Tessera.Core.Sessions.Session?> FirstSessionAsync(string userId)
    {
        await using var read = await Store.BeginReadAsync(TestContext.Current.CancellationToken);
        var sessions = await read.Sessions.ListUnrevokedAsync(userId, DateTimeOffset.UtcNow, TestContext.Current.CancellationToken);
        return sessions.Count == 0 ? null : sessions[0];
    }

    private async Task<IReadOnlyList<AuditEvent>> AuditAsync(string userId, string action)
    {
        await using var read = await Store.BeginReadAsync(TestContext.Current.CancellationToken);
        return await read.Audit.QueryAsync(new AuditQuery(userId, action, null, null, 100), TestContext.Current.CancellationToken);
    }
}
