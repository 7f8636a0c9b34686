using System.Net;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;
using static Tessera.Server.Tests.Clients.OAuthRequests;
using static Tessera.Server.Tests.Clients.VisitorLogins;

namespace Tessera.Server.Tests.Clients;

/// <summary>
/// Sign-in through a service client (scope <c>login</c>): the session, the throttle and the audit see the visitor, not the
/// relying app's server; the session records the client, and other clients learn only that it holds and cannot end it.
/// </summary>
public sealed class VisitorLoginTests : IAsyncLifetime
{
    private readonly TesseraApp _app = new(settings: new Dictionary<string, string?>
    {
        // These tests fail client authentications on purpose; the throttle has its own test below.
        ["Tessera:RateLimiting:FailedClientAuthenticationsBeforeBackoff"] = "100000",
    });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task A_login_through_a_client_records_the_visitors_address_and_device_and_the_client()
    {
        var (portalId, secret) = await CreateClientAsync(_app, "Portal", "login", "introspect");
        var email = TesseraApp.NewEmail();
        var userId = await _app.RegisterAsync(email, "Ada");

        var body = await SignInVisitorAsync(_app, portalId, secret, email, "203.0.113.7");

        var session = body.GetProperty("session");
        JsonShapes.AssertSession(session);
        Assert.Equal("203.0.113.7", session.Str("ipAddress"));
        var device = session.GetProperty("device");
        Assert.Equal("mobile", device.Str("platform"));
        Assert.StartsWith("iOS 17", device.Str("os"), StringComparison.Ordinal);
        Assert.StartsWith("Mobile Safari 17", device.Str("browser"), StringComparison.Ordinal);
        Assert.Equal("Mobile Safari on iOS", device.Str("name"));
        Assert.Equal(portalId, session.Str("clientId"));
        Assert.Equal("Portal", session.Str("client"));
        var token = body.Str("token");

        // The person's own view and the admin's show the same session, with the app it came through.
        using var own = _app.WithToken(token);
        var whoAmI = (await (await own.Get("/v1/auth/session")).AssertOkJsonAsync()).GetProperty("session");
        Assert.Equal(("203.0.113.7", portalId, "Portal"), (whoAmI.Str("ipAddress"), whoAmI.Str("clientId"), whoAmI.Str("client")));
        var listed = Assert.Single((await (await own.Get("/v1/sessions")).AssertOkJsonAsync()).Items("sessions"));
        Assert.Equal(("203.0.113.7", "Portal"), (listed.Str("ipAddress"), listed.Str("client")));
        using var admin = await _app.AdminAsync();
        var adminListed = Assert.Single((await (await admin.Get($"/v1/admin/users/{userId}/sessions")).AssertOkJsonAsync()).Items("sessions"));
        JsonShapes.AssertSession(adminListed);
        Assert.Equal((portalId, "Portal", "203.0.113.7"), (adminListed.Str("clientId"), adminListed.Str("client"), adminListed.Str("ipAddress")));

        // The audit log has the visitor's address, not the portal server's.
        var created = Assert.Single((await (await admin.Get($"/v1/admin/audit?userId={userId}&action=session.created")).AssertOkJsonAsync()).Items("events"));
        Assert.Equal("203.0.113.7", created.Str("ipAddress"));

        // A wrong password through the client is the visitor's failure too.
        await (await LoginAsync(_app, Basic(portalId, secret), new { email, password = "not the password", visitor = new { ipAddress = "203.0.113.66" } }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        var failed = Assert.Single((await (await admin.Get($"/v1/admin/audit?userId={userId}&action=login.failed")).AssertOkJsonAsync()).Items("events"));
        Assert.Equal("203.0.113.66", failed.Str("ipAddress"));

        // The client that signed the visitor in sees the session in full.
        var introspected = await (await SendAsync(_app, "/oauth2/introspect", [new("token", token)], Basic(portalId, secret), PortalServerIp)).AssertOkJsonAsync();
        Assert.Equal(userId, introspected.Str("sub"));
    }

    [Fact]
    public async Task The_device_named_in_the_body_still_wins_and_an_IPv6_visitor_is_recorded_in_canonical_form()
    {
        var (portalId, secret) = await CreateClientAsync(_app, "Portal", "login");
        var email = TesseraApp.NewEmail();
        await _app.RegisterAsync(email);

        var session = (await SignInVisitorAsync(_app, portalId, secret, email, "2001:DB8:0:0::7", WindowsChrome,
            device: new { name = "Kiosk in the lobby", platform = "desktop" })).GetProperty("session");

        Assert.Equal("2001:db8::7", session.Str("ipAddress"));
        Assert.Equal("Kiosk in the lobby", session.GetProperty("device").Str("name"));
        Assert.Equal("desktop", session.GetProperty("device").Str("platform"));
        Assert.StartsWith("Windows", session.GetProperty("device").Str("os"), StringComparison.Ordinal);
        Assert.Equal("Chrome 120", session.GetProperty("device").Str("browser"));

        // An IPv4-mapped address is the IPv4 address; no user agent is no device to read.
        var mapped = (await SignInVisitorAsync(_app, portalId, secret, email, "::ffff:203.0.113.9", userAgent: null)).GetProperty("session");
        Assert.Equal("203.0.113.9", mapped.Str("ipAddress"));
        Assert.Equal("api", mapped.GetProperty("device").Str("platform"));
        Assert.Equal(JsonValueKind.Null, mapped.GetProperty("device").GetProperty("browser").ValueKind);
    }

    [Fact]
    public async Task A_client_that_names_no_visitor_signs_in_from_its_own_address_and_the_session_still_records_it()
    {
        var (portalId, secret) = await CreateClientAsync(_app, "Portal", "login");
        var email = TesseraApp.NewEmail();
        await _app.RegisterAsync(email);

        var session = (await (await LoginAsync(_app, Basic(portalId, secret), new { email, password = TesseraApp.Password })).AssertOkJsonAsync())
            .GetProperty("session");

        Assert.Equal(PortalServerIp, session.Str("ipAddress"));
        Assert.Equal(portalId, session.Str("clientId"));
    }

    [Fact]
    public async Task A_session_made_directly_has_no_client()
    {
        var user = await _app.NewUserAsync();
        using var own = _app.WithToken(user.Token);
        var session = (await (await own.Get("/v1/auth/session")).AssertOkJsonAsync()).GetProperty("session");
        Assert.Equal(JsonValueKind.Null, session.GetProperty("clientId").ValueKind);
        Assert.Equal(JsonValueKind.Null, session.GetProperty("client").ValueKind);
    }

    [Fact]
    public async Task The_login_throttle_counts_each_visitor_and_not_the_clients_server()
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?> { ["Tessera:RateLimiting:LoginPerIpPerMinute"] = "3" });
        var (portalId, secret) = await CreateClientAsync(app, "Portal", "login");
        var email = TesseraApp.NewEmail();
        await app.RegisterAsync(email);

        for (var i = 0; i < 3; i++)
        {
            await SignInVisitorAsync(app, portalId, secret, email, "203.0.113.7");
        }

        // The fourth from that visitor waits, as four direct attempts from one address would.
        var throttled = await LoginAsync(app, Basic(portalId, secret),
            new { email, password = TesseraApp.Password, visitor = new { ipAddress = "203.0.113.7", userAgent = IPhoneSafari } });
        await throttled.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.NotNull(throttled.Headers.RetryAfter);

        // Another visitor of the same client, through the same server, is not held up by the first.
        await SignInVisitorAsync(app, portalId, secret, email, "203.0.113.8");
        // Nor is the server's own address: none of those attempts was counted against it.
        using var direct = app.Anonymous();
        await (await direct.AttemptLogin(email, PortalServerIp)).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_visitor_without_client_authentication_is_refused_and_says_why()
    {
        var user = await _app.NewUserAsync();
        var body = new { email = user.Email, password = TesseraApp.Password, visitor = new { ipAddress = "203.0.113.7", userAgent = IPhoneSafari } };

        var problem = await (await LoginAsync(_app, authorization: null, body)).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Contains("service client", problem.Str("detail"), StringComparison.Ordinal);
        Assert.True(problem.GetProperty("errors").TryGetProperty("visitor", out _));
        // A session token is no client authentication either.
        await (await LoginAsync(_app, "Bearer " + user.Token, body)).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await AssertNoNewSessionAsync(user);
    }

    [Fact]
    public async Task A_wrong_unknown_or_disabled_client_is_invalid_client_and_one_without_the_scope_insufficient_scope()
    {
        var (portalId, secret) = await CreateClientAsync(_app, "Portal", "login");
        var (introspector, introspectorSecret) = await CreateClientAsync(_app, "API", "introspect", "revoke", "revocations");
        var user = await _app.NewUserAsync();
        var body = new { email = user.Email, password = TesseraApp.Password, visitor = new { ipAddress = "203.0.113.7" } };

        foreach (var authorization in new[] { Basic(portalId, "wrong"), Basic("cli_unknown", secret), "Basic", "Basic !!!", "Basic " + B64("no colon") })
        {
            var refused = await LoginAsync(_app, authorization, body);
            await refused.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_client");
            Assert.Equal("Basic realm=\"tessera\"", refused.Headers.WwwAuthenticate.ToString());
        }

        // A wrong client is refused before the password is looked at, visitor or not.
        await (await LoginAsync(_app, Basic(portalId, "wrong"), new { email = user.Email, password = TesseraApp.Password }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_client");

        var scope = await (await LoginAsync(_app, Basic(introspector, introspectorSecret), body)).AssertProblemAsync(HttpStatusCode.Forbidden, "insufficient_scope");
        Assert.Contains("login", scope.Str("detail"), StringComparison.Ordinal);

        using (var admin = await _app.AdminAsync())
        {
            await (await admin.Post($"/v1/admin/clients/{portalId}/disable")).AssertOkJsonAsync();
        }

        await (await LoginAsync(_app, Basic(portalId, secret), body)).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_client");
        await AssertNoNewSessionAsync(user);
    }

    [Fact]
    public async Task A_malformed_visitor_is_validation_failed_on_its_field()
    {
        var (portalId, secret) = await CreateClientAsync(_app, "Portal", "login");
        var user = await _app.NewUserAsync();

        foreach (var ip in new[] { "1", "127.1", "010.0.0.1", "203.0.113.300", "0x7f.0.0.1", "not an address", " 203.0.113.7", "[2001:db8::7]:443",
                     "fe80::1%eth0", "", "203.0.113.7, 198.51.100.1", new string('1', 100) })
        {
            var problem = await (await LoginAsync(_app, Basic(portalId, secret),
                new { email = user.Email, password = TesseraApp.Password, visitor = new { ipAddress = ip, userAgent = IPhoneSafari } }))
                .AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
            Assert.True(problem.GetProperty("errors").TryGetProperty("visitor.ipAddress", out _), $"{ip}: {problem}");
        }

        var noAddress = await (await LoginAsync(_app, Basic(portalId, secret),
            new { email = user.Email, password = TesseraApp.Password, visitor = new { userAgent = IPhoneSafari } })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        Assert.True(noAddress.GetProperty("errors").TryGetProperty("visitor.ipAddress", out _));

        foreach (var userAgent in new[] { "Mozilla/5.0 " + new string('x', 1020), "Mozilla/5.0\r\nX-Injected: 1", "Mozilla\u00855.0" })
        {
            var problem = await (await LoginAsync(_app, Basic(portalId, secret),
                new { email = user.Email, password = TesseraApp.Password, visitor = new { ipAddress = "203.0.113.7", userAgent } }))
                .AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
            Assert.True(problem.GetProperty("errors").TryGetProperty("visitor.userAgent", out _), problem.ToString());
        }

        // A cookie would be set on the client's server for Tessera's host: no browser would ever hold it.
        await (await LoginAsync(_app, Basic(portalId, secret),
            new { email = user.Email, password = TesseraApp.Password, useCookie = true, visitor = new { ipAddress = "203.0.113.7" } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await AssertNoNewSessionAsync(user);

        // 1,024 characters is still a user agent.
        await SignInVisitorAsync(_app, portalId, secret, user.Email, "203.0.113.7", "Mozilla/5.0 " + new string('x', 1012));
    }

    [Fact]
    public async Task Failed_client_authentications_at_login_make_the_callers_address_wait()
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?>
        {
            ["Tessera:RateLimiting:FailedClientAuthenticationsBeforeBackoff"] = "2",
        });
        var (portalId, secret) = await CreateClientAsync(app, "Portal", "login");
        var email = TesseraApp.NewEmail();
        await app.RegisterAsync(email);
        var body = new { email, password = TesseraApp.Password, visitor = new { ipAddress = "203.0.113.7" } };

        for (var i = 0; i < 2; i++)
        {
            await (await LoginAsync(app, Basic(portalId, "wrong"), body)).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_client");
        }

        // Even the right secret waits now, and learns nothing; the caller's address is counted, not the visitor's.
        var throttled = await LoginAsync(app, Basic(portalId, secret), body);
        await throttled.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.True(throttled.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        await (await LoginAsync(app, Basic(portalId, secret), body, serverIp: "192.0.2.51")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Another_client_learns_only_that_the_session_is_active_and_cannot_end_it()
    {
        var (portalId, portalSecret) = await CreateClientAsync(_app, "Portal", "login", "introspect", "revoke");
        var (otherId, otherSecret) = await CreateClientAsync(_app, "Shop", "login", "introspect", "revoke");
        var user = await _app.NewUserAsync();
        var portalToken = (await SignInVisitorAsync(_app, portalId, portalSecret, user.Email, "203.0.113.7")).Str("token");
        var portalSessionId = (await SignInVisitorAsync(_app, portalId, portalSecret, user.Email, "203.0.113.7")).GetProperty("session").Id();

        var across = await SendAsync(_app, "/oauth2/introspect", [new("token", portalToken)], Basic(otherId, otherSecret), null);
        Assert.Equal(HttpStatusCode.OK, across.StatusCode);
        Assert.Equal("""{"active":true}""", await across.ReadTextAsync());

        // The direct session of the same user: the full answer, to any client.
        var direct = await (await SendAsync(_app, "/oauth2/introspect", [new("token", user.Token)], Basic(otherId, otherSecret), null)).AssertOkJsonAsync();
        Assert.Equal(user.Id, direct.Str("sub"));

        var refused = await SendAsync(_app, "/oauth2/revoke", [new("token", portalToken)], Basic(otherId, otherSecret), null);
        await AssertOAuthErrorAsync(refused, HttpStatusCode.BadRequest, "unauthorized_client");
        refused = await SendAsync(_app, "/oauth2/revoke", [new("token", portalToken), new("client_id", otherId), new("client_secret", otherSecret)], null, null);
        await AssertOAuthErrorAsync(refused, HttpStatusCode.BadRequest, "unauthorized_client");

        using (var stillSignedIn = _app.WithToken(portalToken))
        {
            await (await stillSignedIn.Get("/v1/auth/session")).AssertOkJsonAsync();
        }

        using var admin = await _app.AdminAsync();
        Assert.Empty((await (await admin.Get($"/v1/admin/audit?userId={otherId}&action=session.revoked")).AssertOkJsonAsync()).Items("events"));
        var full = await (await SendAsync(_app, "/oauth2/introspect", [new("token", portalToken)], Basic(portalId, portalSecret), null)).AssertOkJsonAsync();
        Assert.Equal(user.Id, full.Str("sub"));

        // The client it came through may end it; and another client may end a session made directly.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(_app, "/oauth2/revoke", [new("token", portalToken)], Basic(portalId, portalSecret), null)).StatusCode);
        Assert.Equal("""{"active":false}""", await (await SendAsync(_app, "/oauth2/introspect", [new("token", portalToken)], Basic(otherId, otherSecret), null)).ReadTextAsync());
        // Once ended it is nothing to refuse either (RFC 7009: an invalid token gets the 200).
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(_app, "/oauth2/revoke", [new("token", portalToken)], Basic(otherId, otherSecret), null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(_app, "/oauth2/revoke", [new("token", user.Token)], Basic(otherId, otherSecret), null)).StatusCode);
        using (var ended = _app.WithToken(user.Token))
        {
            await (await ended.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        }

        var live = (await (await admin.Get($"/v1/admin/users/{user.Id}/sessions")).AssertOkJsonAsync()).Items("sessions");
        Assert.Equal([portalSessionId], live.Select(s => s.Id()));
    }

    [Fact]
    public async Task The_admin_user_page_and_the_account_page_name_the_client()
    {
        var (portalId, secret) = await CreateClientAsync(_app, "Partner Portal", "login");
        var user = await _app.NewUserAsync();
        var token = (await SignInVisitorAsync(_app, portalId, secret, user.Email, "203.0.113.7")).Str("token");

        using var admin = Browser((await _app.LoginAdminAsync()).Token);
        var page = await (await admin.Get($"/admin/users/{user.Id}")).AssertHtmlAsync();
        Assert.Contains("Signed in through Partner Portal", page, StringComparison.Ordinal);
        Assert.Contains("203.0.113.7", page, StringComparison.Ordinal);

        using var own = Browser(token);
        var sessions = await (await own.Get("/account/sessions")).AssertHtmlAsync();
        Assert.Contains("Signed in through", sessions, StringComparison.Ordinal);
        Assert.Contains("Partner Portal", sessions, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_clients_page_offers_the_login_scope_and_creates_a_client_with_it()
    {
        var adminToken = (await _app.LoginAdminAsync()).Token;
        using var admin = Browser(adminToken);
        var page = await (await admin.Get("/admin/clients")).AssertHtmlAsync();
        Assert.Contains("value=\"login\"", page, StringComparison.Ordinal);

        // The form as the browser posts it: the antiforgery token of the page, its cookie and the session cookie.
        var (token, antiforgery) = await admin.AntiforgeryAsync("/admin/clients");
        using var post = new HttpRequestMessage(HttpMethod.Post, "/admin/clients?handler=Create")
        {
            Content = new FormUrlEncodedContent([new("name", "Portal from the console"), new("scopes", "login"), new("__RequestVerificationToken", token)]),
        };
        post.Headers.Add("Cookie", $"{antiforgery}; tessera_session={adminToken}");
        using var browser = _app.Anonymous();
        var created = await browser.Submit(post);
        Assert.True(created.IsSuccessStatusCode, $"{(int)created.StatusCode}: {await created.ReadTextAsync()}");

        using var api = await _app.AdminAsync();
        var clients = (await (await api.Get("/v1/admin/clients")).AssertOkJsonAsync()).Items("clients");
        var client = Assert.Single(clients, c => c.Str("name") == "Portal from the console");
        Assert.Equal(["login"], client.GetProperty("scopes").EnumerateArray().Select(e => e.GetString()));
    }

    /// <summary>A browser signed in with the session cookie (the console's pages take no Bearer token).</summary>
    private HttpClient Browser(string token)
    {
        var client = _app.Anonymous();
        client.DefaultRequestHeaders.Add("Cookie", $"tessera_session={token}");
        return client;
    }

    private async Task AssertNoNewSessionAsync(TestUser user)
    {
        using var admin = await _app.AdminAsync();
        var live = (await (await admin.Get($"/v1/admin/users/{user.Id}/sessions")).AssertOkJsonAsync()).Items("sessions");
        Assert.Equal([user.Sessions[0].SessionId], live.Select(s => s.Id()));
    }
}
