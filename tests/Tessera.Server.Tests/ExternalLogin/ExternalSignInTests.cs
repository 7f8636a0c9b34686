using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Tessera.Core.Audit;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Tessera.Server.Tests.Infrastructure;
using Tessera.Testing;

namespace Tessera.Server.Tests.ExternalLogin;

/// <summary>
/// Sign-in through a real OpenID Connect provider (<see cref="TestOpenIdProvider"/>, OpenIddict on a loopback port) over
/// HTTP: the round trip's three legs (Tessera's start, the provider's authorization endpoint, Tessera's callback) are
/// driven by hand, so each can be inspected, replayed or tampered with.
/// </summary>
public sealed class ExternalSignInTests : IAsyncLifetime
{
    private const string Name = "corp";
    private const string DisplayName = "Corp ID";
    private const string CallbackUri = "http://localhost/v1/auth/external/corp/callback";

    private TestOpenIdProvider _provider = null!;
    private TesseraApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        _provider = await TestOpenIdProvider.StartAsync(CallbackUri);
        var settings = _provider.TesseraSettings(Name, DisplayName);
        // The deployment asks for offline access: the provider's refresh tokens are kept (encrypted) and revoked.
        settings[$"Tessera:ExternalLogin:Providers:{Name}:OfflineAccess"] = "true";
        _app = new TesseraApp(settings: settings, services: services => services
            .AddFakeLogging()
            .AddLogging(logging => logging.AddFilter("Tessera.Server.ExternalLogin", LogLevel.Information)));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task The_provider_list_names_each_configured_provider_in_the_contracts_shape()
    {
        using var client = _app.Anonymous();
        var body = await (await client.Get("/v1/auth/external/providers")).AssertOkJsonAsync();

        var provider = Assert.Single(body.GetProperty("providers").EnumerateArray());
        Assert.Equal(Name, provider.GetProperty("name").GetString());
        Assert.Equal(DisplayName, provider.GetProperty("displayName").GetString());
        await (await client.Get("/v1/auth/external/nobody/start")).AssertProblemAsync(HttpStatusCode.NotFound, "unknown_provider");
    }

    [Fact]
    public async Task A_first_sign_in_makes_and_links_an_account_and_the_second_finds_it_by_the_subject()
    {
        var person = ProviderPerson.New();
        _provider.Person = person;

        var first = await SignInAsync();
        var token = AssertSignedIn(first, "/account");
        var me = await (await _app.WithToken(token).Get("/v1/auth/session")).AssertOkJsonAsync();
        var userId = me.GetProperty("user").GetProperty("id").GetString()!;
        Assert.Equal(person.Email, me.GetProperty("user").GetProperty("email").GetString());

        // Same person, another address at the provider now: found by (provider, subject), not by email.
        _provider.Person = person with { Email = $"renamed-{Guid.NewGuid():N}@provider.test" };
        var second = AssertSignedIn(await SignInAsync(returnUrl: "/account/sessions"), "/account/sessions");
        var again = await (await _app.WithToken(second).Get("/v1/auth/session")).AssertOkJsonAsync();
        Assert.Equal(userId, again.GetProperty("user").GetProperty("id").GetString());

        var identities = await (await _app.WithToken(second).Get("/v1/auth/external/identities")).AssertOkJsonAsync();
        var link = Assert.Single(identities.GetProperty("identities").EnumerateArray());
        Assert.Equal(Name, link.GetProperty("provider").GetString());
        Assert.Equal(DisplayName, link.GetProperty("displayName").GetString());
        Assert.Equal(2, (await SessionsOfAsync(userId)).Count);
    }

    [Fact]
    public async Task A_first_sign_in_with_a_verified_email_links_the_existing_account()
    {
        var email = TesseraApp.NewEmail("verified");
        var userId = await _app.RegisterAsync(email);
        _provider.Person = ProviderPerson.New(emailVerified: true, email: email);

        var token = AssertSignedIn(await SignInAsync(), "/account");

        var me = await (await _app.WithToken(token).Get("/v1/auth/session")).AssertOkJsonAsync();
        Assert.Equal(userId, me.GetProperty("user").GetProperty("id").GetString());
        Assert.Single(await LinksOfAsync(userId));
    }

    [Fact]
    public async Task A_first_sign_in_with_an_unverified_email_of_an_account_is_refused_and_links_nothing()
    {
        var email = TesseraApp.NewEmail("unverified");
        var userId = await _app.RegisterAsync(email);
        _provider.Person = ProviderPerson.New(emailVerified: false, email: email);

        var response = await SignInAsync();

        var problem = await response.AssertProblemAsync(HttpStatusCode.Conflict, "external_email_unverified");
        Assert.Contains("has not verified the address", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        AssertNoSessionCookie(response);
        Assert.Empty(await LinksOfAsync(userId));
        Assert.Empty(await SessionsOfAsync(userId));
    }

    [Fact]
    public async Task A_first_sign_in_with_an_unverified_email_makes_no_account()
    {
        // Otherwise whoever typed someone else's address at the provider would own that address here before its owner
        // registered (account pre-hijacking).
        _provider.Person = ProviderPerson.New(emailVerified: false);

        var response = await SignInAsync();

        var problem = await response.AssertProblemAsync(HttpStatusCode.Conflict, "external_email_unverified");
        Assert.Contains("has not verified this email address", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        AssertNoSessionCookie(response);
        Assert.Null(await FindByEmailAsync(_provider.Person.Email));
    }

    [Fact]
    public async Task A_browser_refused_at_the_callback_is_sent_to_the_sign_in_page_which_says_why_once()
    {
        var (userId, person) = await LinkedAccountAsync();
        using var admin = await _app.AdminAsync();
        (await admin.Post($"/v1/admin/users/{userId}/deactivate")).EnsureSuccessStatusCode();
        _provider.Person = person;

        var response = await SignInAsync(returnUrl: "/account/sessions", accept: "text/html,application/xhtml+xml,*/*;q=0.8");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login?returnUrl=%2Faccount%2Fsessions", response.Headers.Location!.OriginalString);
        AssertNoSessionCookie(response);
        Assert.Empty(await SessionsOfAsync(userId));

        // The sentence rides in the pages' protected one-shot cookie, never in the URL.
        var notice = response.Headers.GetValues("Set-Cookie").Single(cookie => cookie.StartsWith("tessera_notice=", StringComparison.Ordinal));
        using var browser = _app.Anonymous();
        using var login = new HttpRequestMessage(HttpMethod.Get, response.Headers.Location);
        login.Headers.Add("Accept", "text/html");
        login.Headers.Add("Cookie", notice[..notice.IndexOf(';', StringComparison.Ordinal)]);
        var page = await (await browser.SendAsync(login, TestContext.Current.CancellationToken)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("Your account has been deactivated.", page, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("deactivate", HttpStatusCode.Forbidden, "account_deactivated", "Your account has been deactivated.")]
    [InlineData("ban", HttpStatusCode.Forbidden, "account_banned", "Your account is banned.")]
    [InlineData("delete", HttpStatusCode.Unauthorized, "account_deleted", "This account has been deleted.")]
    public async Task An_account_that_may_not_sign_in_is_refused_at_the_callback_with_no_session(
        string decision, HttpStatusCode status, string code, string sentence)
    {
        var (userId, person) = await LinkedAccountAsync();
        using var admin = await _app.AdminAsync();
        var decided = decision == "delete"
            ? await admin.DeleteAsync($"/v1/admin/users/{userId}", TestContext.Current.CancellationToken)
            : await admin.Post($"/v1/admin/users/{userId}/{decision}", decision == "ban" ? new { reason = "abuse" } : null);
        Assert.True(decided.IsSuccessStatusCode, await decided.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        _provider.Person = person;

        var response = await SignInAsync();

        var problem = await response.AssertProblemAsync(status, code);
        Assert.Equal(sentence, problem.GetProperty("detail").GetString());
        AssertNoSessionCookie(response);
        Assert.Empty(await SessionsOfAsync(userId));
        var failed = await AuditAsync(userId, AuditActions.LoginFailed);
        Assert.Contains(failed, e => e.Reason == $"{code} via {Name}");

        // A deleted account is not made again either: the subject still leads to it, and nothing else was created.
        if (decision == "delete")
        {
            Assert.Null(await FindByEmailAsync(person.Email));
        }
    }

    [Fact]
    public async Task A_timed_ban_is_refused_with_its_end_and_the_sentence_of_the_password_login()
    {
        var (userId, person) = await LinkedAccountAsync();
        var until = DateTimeOffset.UtcNow.AddDays(3);
        using var admin = await _app.AdminAsync();
        (await admin.Post($"/v1/admin/users/{userId}/ban", new { reason = "cool off", until })).EnsureSuccessStatusCode();
        _provider.Person = person;

        var problem = await (await SignInAsync()).AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");

        var expected = DateTimeOffset.FromUnixTimeMilliseconds(until.ToUnixTimeMilliseconds());
        Assert.Equal($"Your account is banned until {expected.UtcDateTime:yyyy-MM-dd HH:mm} UTC.", problem.GetProperty("detail").GetString());
        Assert.Equal(expected, problem.GetProperty("bannedUntil").GetDateTimeOffset());
        Assert.Empty(await SessionsOfAsync(userId));
    }

    [Theory]
    [InlineData("reactivate", "deactivate")]
    [InlineData("unban", "ban")]
    public async Task A_reactivated_or_unbanned_account_comes_back_in_at_once(string undo, string decision)
    {
        var (userId, person) = await LinkedAccountAsync();
        using var admin = await _app.AdminAsync();
        (await admin.Post($"/v1/admin/users/{userId}/{decision}", decision == "ban" ? new { reason = "abuse" } : null)).EnsureSuccessStatusCode();
        _provider.Person = person;
        Assert.Equal(HttpStatusCode.Forbidden, (await SignInAsync()).StatusCode);

        (await admin.Post($"/v1/admin/users/{userId}/{undo}")).EnsureSuccessStatusCode();

        AssertSignedIn(await SignInAsync(), "/account");
        Assert.Single(await SessionsOfAsync(userId));
    }

    [Fact]
    public async Task A_tampered_state_is_refused_with_a_problem()
    {
        _provider.Person = ProviderPerson.New();
        var (cookies, authorize) = await StartAsync();
        var callback = await AuthorizeAsync(authorize);
        var tampered = callback.Replace("state=", "state=x", StringComparison.Ordinal);

        var response = await CallbackAsync(tampered, cookies);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "external_login_failed");
        AssertFailedBecause("Unable to unprotect the message.State");
        AssertNoSessionCookie(response);
        Assert.Null(await FindByEmailAsync(_provider.Person.Email));
    }

    [Fact]
    public async Task A_replayed_code_is_refused_with_a_problem()
    {
        _provider.Person = ProviderPerson.New();
        var (cookies, authorize) = await StartAsync();
        var callback = await AuthorizeAsync(authorize);
        AssertSignedIn(await CallbackAsync(callback, cookies), "/account");

        // The same answer again, with the same cookies: the provider refuses a code used once.
        var replayed = await CallbackAsync(callback, cookies);

        await replayed.AssertProblemAsync(HttpStatusCode.BadRequest, "external_login_failed");
        AssertFailedBecause("invalid_grant");
        AssertNoSessionCookie(replayed);
    }

    [Theory]
    [InlineData(IdTokenFault.WrongNonce, "IDX21323")]
    [InlineData(IdTokenFault.OtherAudience, "IDX10214")]
    [InlineData(IdTokenFault.Expired, "IDX10223")]
    public async Task An_id_token_that_does_not_hold_is_refused_with_a_problem_and_no_account(IdTokenFault fault, string why)
    {
        _provider.Person = ProviderPerson.New();
        _provider.NextIdTokenFault = fault;

        var response = await SignInAsync();

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "external_login_failed");
        AssertFailedBecause(why);
        AssertNoSessionCookie(response);
        Assert.Null(await FindByEmailAsync(_provider.Person.Email));
    }

    /// <summary>The handler's failure was the one the test provoked (its message or an inner one names it), not another.</summary>
    private void AssertFailedBecause(string why)
    {
        var failures = _app.Services.GetFakeLogCollector().GetSnapshot()
            .Where(record => record.Category == "Tessera.Server.ExternalLogin.ExternalCallback" && record.Exception is not null)
            .Select(record => record.Exception!.ToString())
            .ToList();
        Assert.True(failures.Count > 0 && failures[^1].Contains(why, StringComparison.Ordinal),
            $"Expected the callback to fail because of '{why}'; it logged: {string.Join("\n---\n", failures)}");
    }

    [Fact]
    public async Task The_refresh_token_is_kept_encrypted_and_revoked_at_the_provider_when_the_user_is_deactivated()
    {
        var (userId, _) = await LinkedAccountAsync();
        var issued = _provider.IssuedRefreshTokens.Last();
        var kept = Assert.Single(await LinksOfAsync(userId)).ProtectedRefreshToken;
        Assert.False(string.IsNullOrEmpty(kept));
        Assert.DoesNotContain(issued, kept, StringComparison.Ordinal);

        using var admin = await _app.AdminAsync();
        (await admin.Post($"/v1/admin/users/{userId}/deactivate")).EnsureSuccessStatusCode();

        // Revoked before the admin's call returned; the provider recorded it, the audit says so, nothing is kept.
        var audited = await AuditAsync(userId, AuditActions.ExternalTokenRevoked);
        Assert.True(_provider.RevokedTokens.Contains(issued), $"Not revoked at the provider; audited: {string.Join(", ", audited.Select(e => e.Reason))}; revoked {_provider.RevokedTokens.Count}");
        Assert.Contains(audited, e => e.Reason == $"{Name} user_deactivated revoked");
        Assert.Null(Assert.Single(await LinksOfAsync(userId)).ProtectedRefreshToken);
    }

    [Fact]
    public async Task A_refused_sign_in_revokes_the_refresh_token_the_provider_just_gave_at_once()
    {
        var (userId, person) = await LinkedAccountAsync();
        using var admin = await _app.AdminAsync();
        (await admin.Post($"/v1/admin/users/{userId}/deactivate")).EnsureSuccessStatusCode();
        _provider.Person = person;

        await (await SignInAsync()).AssertProblemAsync(HttpStatusCode.Forbidden, "account_deactivated");

        // Offline access was asked, so the provider gave a fresh refresh token with the refused answer: never kept, revoked now.
        var fresh = _provider.IssuedRefreshTokens.Last();
        Assert.Contains(fresh, _provider.RevokedTokens);
        Assert.Contains(await AuditAsync(userId, AuditActions.ExternalTokenRevoked), e => e.Reason == $"{Name} sign_in_refused revoked");
        Assert.Null(Assert.Single(await LinksOfAsync(userId)).ProtectedRefreshToken);
    }

    [Fact]
    public async Task Unlinking_revokes_the_refresh_token_and_the_last_way_in_cannot_be_unlinked()
    {
        var (userId, person) = await LinkedAccountAsync();
        _provider.Person = person;
        var token = AssertSignedIn(await SignInAsync(), "/account");
        using var client = _app.WithToken(token);

        // Made through the provider, with no password: the link is the only way in.
        await (await client.DeleteAsync($"/v1/auth/external/identities/{Name}", TestContext.Current.CancellationToken))
            .AssertProblemAsync(HttpStatusCode.Conflict, "last_sign_in_method");
        await (await client.DeleteAsync("/v1/auth/external/identities/elsewhere", TestContext.Current.CancellationToken))
            .AssertProblemAsync(HttpStatusCode.NotFound, "not_found");

        // With a password as well, it can go; its refresh token is revoked at the provider.
        var email = TesseraApp.NewEmail("both");
        var bothId = await _app.RegisterAsync(email);
        _provider.Person = ProviderPerson.New(emailVerified: true, email: email);
        var both = AssertSignedIn(await SignInAsync(), "/account");
        var issued = _provider.IssuedRefreshTokens.Last();
        var unlinked = await _app.WithToken(both).DeleteAsync($"/v1/auth/external/identities/{Name}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, unlinked.StatusCode);
        Assert.Empty(await LinksOfAsync(bothId));
        Assert.Contains(issued, _provider.RevokedTokens);
        Assert.Single(await AuditAsync(bothId, AuditActions.ExternalUnlinked));
        Assert.Single(await LinksOfAsync(userId));
    }

    [Fact]
    public async Task The_sign_in_pages_offer_each_provider_and_the_account_page_lists_the_link()
    {
        using var anonymous = _app.Anonymous();
        foreach (var page in new[] { "/login?returnUrl=%2Faccount%2Fsessions", "/register" })
        {
            var html = await (await anonymous.Get(page)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.Contains($"Continue with {DisplayName}", html, StringComparison.Ordinal);
            Assert.Contains($"href=\"/v1/auth/external/{Name}/start", html, StringComparison.Ordinal);
        }

        var login = await (await anonymous.Get("/login?returnUrl=%2Faccount%2Fsessions")).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("start?returnUrl=%2Faccount%2Fsessions", login, StringComparison.Ordinal);

        var person = ProviderPerson.New();
        _provider.Person = person;
        var token = AssertSignedIn(await SignInAsync(), "/account");
        var account = await (await _app.WithCookie(token).Get("/account")).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains($"{DisplayName} ({person.Email})", account, StringComparison.Ordinal);
        Assert.Contains("Password: none set", account, StringComparison.Ordinal);
    }

    // --- the round trip ---------------------------------------------------------------------------------------------

    private async Task<(string LinkedUserId, ProviderPerson Person)> LinkedAccountAsync()
    {
        var person = ProviderPerson.New();
        _provider.Person = person;
        var token = AssertSignedIn(await SignInAsync(), "/account");
        var me = await (await _app.WithToken(token).Get("/v1/auth/session")).AssertOkJsonAsync();
        var userId = me.GetProperty("user").GetProperty("id").GetString()!;

        // Its one session ends, so that "no session" below means none was made at the refused sign-in.
        (await _app.WithToken(token).Post("/v1/auth/logout")).EnsureSuccessStatusCode();
        return (userId, person);
    }

    private async Task<HttpResponseMessage> SignInAsync(string? returnUrl = null, string? accept = null)
    {
        var (cookies, authorize) = await StartAsync(returnUrl);
        return await CallbackAsync(await AuthorizeAsync(authorize), cookies, accept);
    }

    /// <summary>Tessera's start: the redirect to the provider, and the correlation and nonce cookies it set.</summary>
    private async Task<(CookieContainer Cookies, Uri Authorize)> StartAsync(string? returnUrl = null)
    {
        using var client = _app.Anonymous();
        var response = await client.Get($"/v1/auth/external/{Name}/start" + (returnUrl is null ? "" : $"?returnUrl={Uri.EscapeDataString(returnUrl)}"));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var authorize = response.Headers.Location!;
        Assert.StartsWith(_provider.Issuer.ToString(), authorize.ToString(), StringComparison.Ordinal);
        Assert.Contains("code_challenge_method=S256", authorize.Query, StringComparison.Ordinal);
        var cookies = new CookieContainer();
        foreach (var cookie in response.Headers.GetValues("Set-Cookie"))
        {
            cookies.SetCookies(new Uri(CallbackUri), cookie);
        }

        return (cookies, authorize);
    }

    /// <summary>The provider's authorization endpoint, for <see cref="TestOpenIdProvider.Person"/>: the redirect back to Tessera.</summary>
    private static async Task<string> AuthorizeAsync(Uri authorize)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var response = await client.GetAsync(authorize, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"The provider answered {(int)response.StatusCode}: {text}");
        var location = response.Headers.Location!.ToString();
        Assert.StartsWith(CallbackUri + "?", location, StringComparison.Ordinal);
        return location;
    }

    private async Task<HttpResponseMessage> CallbackAsync(string callback, CookieContainer cookies, string? accept = null)
    {
        using var client = _app.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(callback).PathAndQuery);
        request.Headers.Add("Cookie", cookies.GetCookieHeader(new Uri(CallbackUri)));
        if (accept is not null)
        {
            request.Headers.Add("Accept", accept);
        }

        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private static string AssertSignedIn(HttpResponseMessage response, string returnUrl)
    {
        var text = response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken).GetAwaiter().GetResult();
        Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"Expected a redirect, got {(int)response.StatusCode}: {text}");
        Assert.Equal(returnUrl, response.Headers.Location?.ToString());
        var session = SessionCookies(response).SingleOrDefault();
        Assert.False(string.IsNullOrEmpty(session), "No tessera_session cookie was set.");
        return session!;
    }

    private static void AssertNoSessionCookie(HttpResponseMessage response) => Assert.Empty(SessionCookies(response));

    private static IEnumerable<string> SessionCookies(HttpResponseMessage response) =>
        (response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [])
            .Where(cookie => cookie.StartsWith("tessera_session=", StringComparison.Ordinal))
            .Select(cookie => cookie["tessera_session=".Length..cookie.IndexOf(';', StringComparison.Ordinal)])
            .Where(value => value.Length > 0);

    // --- the store, read directly ---------------------------------------------------------------------------------------

    private ITesseraStore Store => _app.Services.GetRequiredService<ITesseraStore>();

    private async Task<IReadOnlyList<Tessera.Core.Sessions.Session>> SessionsOfAsync(string userId)
    {
        await using var read = await Store.BeginReadAsync(TestContext.Current.CancellationToken);
        return await read.Sessions.ListUnrevokedAsync(userId, DateTimeOffset.UtcNow, TestContext.Current.CancellationToken);
    }

    private async Task<IReadOnlyList<Tessera.Core.ExternalLogin.ExternalIdentity>> LinksOfAsync(string userId)
    {
        await using var read = await Store.BeginReadAsync(TestContext.Current.CancellationToken);
        return await read.ExternalIdentities.ListByUserAsync(userId, TestContext.Current.CancellationToken);
    }

    private async Task<User?> FindByEmailAsync(string email)
    {
        await using var read = await Store.BeginReadAsync(TestContext.Current.CancellationToken);
        return await read.Users.FindByEmailAsync(User.NormalizeEmail(email), TestContext.Current.CancellationToken);
    }

    private async Task<IReadOnlyList<AuditEvent>> AuditAsync(string userId, string action)
    {
        await using var read = await Store.BeginReadAsync(TestContext.Current.CancellationToken);
        return await read.Audit.QueryAsync(new AuditQuery(userId, action, null, null, 100), TestContext.Current.CancellationToken);
    }
}
