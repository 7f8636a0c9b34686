using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Tessera.Server.Tests.Infrastructure;
using static Tessera.Server.Tests.Clients.OAuthRequests;

namespace Tessera.Server.Tests.Clients;

/// <summary>
/// Service clients end to end: the admin routes, RFC 7662 introspection and RFC 7009 revocation with both client
/// authentication methods, their RFC 6749 errors, the rotation overlap on a clock the tests move, and disabling.
/// </summary>
public sealed class ServiceClientTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TesseraApp _app;

    public ServiceClientTests() => _app = new TesseraApp(clock: _clock, settings: new Dictionary<string, string?>
    {
        // These tests fail authentications on purpose; the throttle has its own test below.
        ["Tessera:RateLimiting:FailedClientAuthenticationsBeforeBackoff"] = "100000",
    });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task A_client_disabled_straight_in_the_database_is_refused_once_the_nodes_copy_of_it_is_a_second_old()
    {
        var (clientId, secret) = await CreateClientAsync("introspect");
        var user = await _app.NewUserAsync();
        await (await IntrospectAsync(clientId, secret, user.Token)).AssertOkJsonAsync();

        // Nothing announces a change made in SQL to the service_clients table: the node's copy of the client is used for
        // at most ServiceClientCache.Lifetime, and then read again.
        await Sqlite3.ExecuteAsync(_app.DatabasePath, string.Create(CultureInfo.InvariantCulture,
            $"UPDATE service_clients SET disabled_at = {_clock.GetUtcNow().ToUnixTimeMilliseconds()} WHERE id = '{clientId}'"));
        _clock.Advance(Tessera.Core.Clients.ServiceClientCache.Lifetime);

        await AssertOAuthErrorAsync(await IntrospectAsync(clientId, secret, user.Token), HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task An_admin_creates_lists_and_disables_a_client_and_each_step_is_audited()
    {
        using var admin = await _app.AdminAsync();
        var adminId = await _app.AdminIdAsync();
        var created = await (await admin.Post("/v1/admin/clients", new { name = "  Billing API ", scopes = new[] { "revoke", "introspect", "introspect" } }))
            .AssertOkJsonAsync(HttpStatusCode.Created);

        var client = created.GetProperty("client");
        var id = client.Id();
        Assert.StartsWith("cli_", id, StringComparison.Ordinal);
        Assert.Equal("Billing API", client.Str("name"));
        Assert.Equal(["introspect", "revoke"], client.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.False(client.GetProperty("disabled").GetBoolean());
        JsonShapes.AssertUtcTimestamp(client.GetProperty("createdAt"));
        Assert.Matches("^[A-Za-z0-9_-]{43}$", created.Str("secret"));

        var listed = (await (await admin.Get("/v1/admin/clients")).AssertOkJsonAsync()).Items("clients");
        var item = Assert.Single(listed, c => c.Id() == id);
        Assert.False(item.TryGetProperty("secret", out _));
        Assert.DoesNotContain(created.Str("secret"), listed.Select(c => c.GetRawText()).Aggregate(string.Concat), StringComparison.Ordinal);

        var disabled = (await (await admin.Post($"/v1/admin/clients/{id}/disable")).AssertOkJsonAsync()).GetProperty("client");
        Assert.True(disabled.GetProperty("disabled").GetBoolean());
        JsonShapes.AssertUtcTimestamp(disabled.GetProperty("disabledAt"));
        // Again: the same answer, and no second event.
        await (await admin.Post($"/v1/admin/clients/{id}/disable")).AssertOkJsonAsync();

        var events = (await (await admin.Get($"/v1/admin/audit?userId={id}")).AssertOkJsonAsync()).Items("events");
        Assert.All(events, JsonShapes.AssertAuditEvent);
        Assert.Equal(["client.disabled", "client.created"], events.Select(e => e.Str("action")));
        Assert.All(events, e => Assert.Equal(("admin", adminId), (e.GetProperty("actor").Str("kind"), e.GetProperty("actor").Str("id"))));
    }

    [Fact]
    public async Task The_admin_routes_refuse_bad_input_unknown_clients_and_non_admins()
    {
        using var admin = await _app.AdminAsync();
        await (await admin.Post("/v1/admin/clients")).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post("/v1/admin/clients", new { scopes = new[] { "introspect" } })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post("/v1/admin/clients", new { name = "\u202Eevil", scopes = new[] { "introspect" } })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post("/v1/admin/clients", new { name = "x", scopes = Array.Empty<string>() })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post("/v1/admin/clients", new { name = "x", scopes = new[] { "admin" } })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post("/v1/admin/clients", new { name = "x" })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post("/v1/admin/clients/cli_unknown/disable")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await admin.Post("/v1/admin/clients/cli_unknown/rotate")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");

        var user = await _app.NewUserAsync();
        using var notAdmin = _app.WithToken(user.Token);
        await (await notAdmin.Get("/v1/admin/clients")).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await notAdmin.Post("/v1/admin/clients", new { name = "x", scopes = new[] { "introspect" } })).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        using var anonymous = _app.Anonymous();
        await (await anonymous.Get("/v1/admin/clients")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task Introspecting_a_live_token_answers_who_and_which_session_and_device_with_either_authentication()
    {
        var (clientId, secret) = await CreateClientAsync("introspect");
        var email = TesseraApp.NewEmail();
        var userId = await _app.RegisterAsync(email, "Ada Lovelace");
        var session = await _app.LoginAsync(email, device: new { name = "Ada's laptop", platform = "desktop", os = "Linux" });
        var loggedInAt = _clock.GetUtcNow();

        foreach (var basic in new[] { true, false })
        {
            var body = await (await IntrospectAsync(clientId, secret, session.Token, basic)).AssertOkJsonAsync();
            Assert.True(body.GetProperty("active").GetBoolean());
            Assert.Equal(userId, body.Str("sub"));
            Assert.Equal(session.SessionId, body.Str("sid"));
            Assert.Equal(email, body.Str("username"));
            Assert.Equal(email, body.Str("email"));
            Assert.Equal("Ada Lovelace", body.Str("name"));
            Assert.Equal("user", body.Str("role"));
            Assert.Equal(clientId, body.Str("client_id"));
            Assert.Equal("Bearer", body.Str("token_type"));
            Assert.Equal("Ada's laptop", body.Str("device_name"));
            Assert.Equal("desktop", body.Str("device_platform"));
            Assert.Equal("Linux", body.Str("device_os"));
            Assert.Equal(loggedInAt.ToUnixTimeSeconds(), body.GetProperty("iat").GetInt64());
            // The idle end (7 days from now) comes before the absolute end (30 days).
            Assert.Equal(_clock.GetUtcNow().AddDays(7).ToUnixTimeSeconds(), body.GetProperty("exp").GetInt64(), tolerance: 60);
        }
    }

    [Fact]
    public async Task Introspection_is_use_of_the_session_and_keeps_it_from_running_idle()
    {
        var (clientId, secret) = await CreateClientAsync("introspect");
        var user = await _app.NewUserAsync();
        _clock.Advance(TimeSpan.FromDays(6));
        Assert.True((await (await IntrospectAsync(clientId, secret, user.Token)).AssertOkJsonAsync()).GetProperty("active").GetBoolean());
        _clock.Advance(TimeSpan.FromDays(2));

        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        _clock.Advance(TimeSpan.FromDays(8));
        Assert.Equal("""{"active":false}""", await (await IntrospectAsync(clientId, secret, user.Token)).ReadTextAsync());
    }

    [Fact]
    public async Task A_token_that_does_not_hold_is_inactive_and_nothing_more()
    {
        var (clientId, secret) = await CreateClientAsync("introspect");
        using var admin = await _app.AdminAsync();
        var revoked = await _app.NewUserAsync();
        using (var own = _app.WithToken(revoked.Token))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await own.Post("/v1/auth/logout")).StatusCode);
        }

        var banned = await _app.NewUserAsync();
        await (await admin.Post($"/v1/admin/users/{banned.Id}/ban")).AssertOkJsonAsync();
        var deactivated = await _app.NewUserAsync();
        await (await admin.Post($"/v1/admin/users/{deactivated.Id}/deactivate")).AssertOkJsonAsync();
        var deleted = await _app.NewUserAsync();
        await (await admin.Delete($"/v1/admin/users/{deleted.Id}")).AssertOkJsonAsync();

        foreach (var token in new[] { revoked.Token, banned.Token, deactivated.Token, deleted.Token, new string('A', 43), "not a token", "x" })
        {
            var response = await IntrospectAsync(clientId, secret, token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("""{"active":false}""", await response.ReadTextAsync());
        }
    }

    [Fact]
    public async Task Wrong_unknown_and_malformed_client_credentials_are_invalid_client()
    {
        var (clientId, secret) = await CreateClientAsync("introspect");
        var user = await _app.NewUserAsync();

        var wrongBasic = await IntrospectAsync(clientId, secret[..^1] + (secret[^1] == 'A' ? "B" : "A"), user.Token);
        await AssertOAuthErrorAsync(wrongBasic, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal("Basic realm=\"tessera\"", wrongBasic.Headers.WwwAuthenticate.ToString());

        var wrongPost = await IntrospectAsync(clientId, "nope", user.Token, basic: false);
        await AssertOAuthErrorAsync(wrongPost, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Empty(wrongPost.Headers.WwwAuthenticate);

        await AssertOAuthErrorAsync(await IntrospectAsync("cli_unknown", secret, user.Token), HttpStatusCode.Unauthorized, "invalid_client");
        var none = await SendAsync("/oauth2/introspect", new Dictionary<string, string> { ["token"] = user.Token });
        await AssertOAuthErrorAsync(none, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal("Basic realm=\"tessera\"", none.Headers.WwwAuthenticate.ToString());

        foreach (var header in new[] { "Basic", "Basic ", "Basic !!!!", "Basic " + B64("no colon"), "Basic " + Convert.ToBase64String([0xff, 0xfe, 0x3a, 0x80]),
                     "Basic " + B64($"{clientId}:{secret}:extra"), "Basic " + B64(":"), "Basic " + B64($"{clientId}%ZZ:{secret}"), "Basic " + new string('A', 6000) })
        {
            var response = await SendAsync("/oauth2/introspect", new Dictionary<string, string> { ["token"] = user.Token }, authorization: header);
            await AssertOAuthErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        }

        // A Bearer header is no client authentication.
        var bearer = await SendAsync("/oauth2/introspect", new Dictionary<string, string> { ["token"] = user.Token }, authorization: "Bearer " + user.Token);
        await AssertOAuthErrorAsync(bearer, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Requests_that_are_not_as_the_RFCs_say_are_invalid_request_and_never_problems()
    {
        var (clientId, secret) = await CreateClientAsync("introspect", "revoke");
        var user = await _app.NewUserAsync();

        foreach (var path in new[] { "/oauth2/introspect", "/oauth2/revoke" })
        {
            await AssertOAuthErrorAsync(await SendAsync(path, [], Basic(clientId, secret)), HttpStatusCode.BadRequest, "invalid_request");
            await AssertOAuthErrorAsync(await SendAsync(path, [new("token", user.Token), new("token", user.Token)], Basic(clientId, secret)),
                HttpStatusCode.BadRequest, "invalid_request");
            await AssertOAuthErrorAsync(await SendAsync(path, [new("token", user.Token), new("client_id", clientId), new("client_secret", secret)], Basic(clientId, secret)),
                HttpStatusCode.BadRequest, "invalid_request");

            using var client = _app.Anonymous();
            using var json = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent($$"""{"token":"{{user.Token}}"}""", Encoding.UTF8, "application/json") };
            json.Headers.Authorization = AuthenticationHeaderValue.Parse(Basic(clientId, secret));
            await AssertOAuthErrorAsync(await client.Submit(json), HttpStatusCode.BadRequest, "invalid_request");

            using var latin1 = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("token=x", Encoding.Latin1, "application/x-www-form-urlencoded") };
            latin1.Content.Headers.ContentType!.CharSet = "iso-8859-1";
            await AssertOAuthErrorAsync(await client.Submit(latin1), HttpStatusCode.BadRequest, "invalid_request");

            using var huge = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("token=" + new string('a', 70_000), Encoding.UTF8, "application/x-www-form-urlencoded") };
            await AssertOAuthErrorAsync(await client.Submit(huge), HttpStatusCode.RequestEntityTooLarge, "invalid_request");

            await AssertOAuthErrorAsync(await client.Get(path), HttpStatusCode.MethodNotAllowed, "invalid_request");
        }
    }

    [Fact]
    public async Task A_client_without_the_scope_gets_unauthorized_client_and_no_data()
    {
        var (revokeOnly, revokeSecret) = await CreateClientAsync("revoke");
        var (introspectOnly, introspectSecret) = await CreateClientAsync("introspect", "revocations");
        var user = await _app.NewUserAsync();

        var introspection = await IntrospectAsync(revokeOnly, revokeSecret, user.Token);
        var body = await AssertOAuthErrorAsync(introspection, HttpStatusCode.BadRequest, "unauthorized_client");
        Assert.False(body.TryGetProperty("sub", out _));
        await AssertOAuthErrorAsync(await RevokeAsync(introspectOnly, introspectSecret, user.Token), HttpStatusCode.BadRequest, "unauthorized_client");

        using var stillSignedIn = _app.WithToken(user.Token);
        await (await stillSignedIn.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Disabling_a_client_refuses_its_secret_at_once()
    {
        var (clientId, secret) = await CreateClientAsync("introspect");
        var user = await _app.NewUserAsync();
        await (await IntrospectAsync(clientId, secret, user.Token)).AssertOkJsonAsync();

        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/clients/{clientId}/disable")).AssertOkJsonAsync();

        await AssertOAuthErrorAsync(await IntrospectAsync(clientId, secret, user.Token), HttpStatusCode.Unauthorized, "invalid_client");
        await AssertOAuthErrorAsync(await IntrospectAsync(clientId, secret, user.Token, basic: false), HttpStatusCode.Unauthorized, "invalid_client");
        await (await admin.Post($"/v1/admin/clients/{clientId}/rotate")).AssertProblemAsync(HttpStatusCode.Conflict, "client_disabled");
    }

    [Fact]
    public async Task After_a_rotation_the_previous_secret_works_for_the_overlap_and_a_second_rotation_ends_it_at_once()
    {
        var (clientId, first) = await CreateClientAsync("introspect");
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();

        var rotated = await (await admin.Post($"/v1/admin/clients/{clientId}/rotate")).AssertOkJsonAsync();
        var second = rotated.Str("secret");
        Assert.NotEqual(first, second);
        Assert.Equal(clientId, rotated.GetProperty("client").Id());
        await (await IntrospectAsync(clientId, second, user.Token)).AssertOkJsonAsync();
        await (await IntrospectAsync(clientId, first, user.Token)).AssertOkJsonAsync();

        _clock.Advance(TimeSpan.FromMinutes(59));
        await (await IntrospectAsync(clientId, first, user.Token)).AssertOkJsonAsync();
        _clock.Advance(TimeSpan.FromMinutes(1));
        await AssertOAuthErrorAsync(await IntrospectAsync(clientId, first, user.Token), HttpStatusCode.Unauthorized, "invalid_client");
        await (await IntrospectAsync(clientId, second, user.Token)).AssertOkJsonAsync();

        // Rotating twice within the overlap: the newest two work, the oldest stops at once.
        var third = (await (await admin.Post($"/v1/admin/clients/{clientId}/rotate")).AssertOkJsonAsync()).Str("secret");
        var fourth = (await (await admin.Post($"/v1/admin/clients/{clientId}/rotate")).AssertOkJsonAsync()).Str("secret");
        await AssertOAuthErrorAsync(await IntrospectAsync(clientId, second, user.Token), HttpStatusCode.Unauthorized, "invalid_client");
        await (await IntrospectAsync(clientId, third, user.Token)).AssertOkJsonAsync();
        await (await IntrospectAsync(clientId, fourth, user.Token)).AssertOkJsonAsync();

        var events = (await (await admin.Get($"/v1/admin/audit?userId={clientId}&action=client.rotated")).AssertOkJsonAsync()).Items("events");
        Assert.Equal(3, events.Count);
    }

    [Fact]
    public async Task Revoking_a_token_ends_its_session_on_the_next_request_with_the_client_as_actor()
    {
        var (clientId, secret) = await CreateClientAsync("revoke", "introspect");
        var user = await _app.NewUserAsync(sessions: 2);
        using var revokedClient = _app.WithToken(user.Sessions[0].Token);
        await (await revokedClient.Get("/v1/auth/session")).AssertOkJsonAsync();

        var response = await RevokeAsync(clientId, secret, user.Sessions[0].Token, basic: false);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var problem = await (await revokedClient.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("token_revoked", problem.Str("reason"));
        Assert.Equal("""{"active":false}""", await (await IntrospectAsync(clientId, secret, user.Sessions[0].Token)).ReadTextAsync());
        using var other = _app.WithToken(user.Sessions[1].Token);
        await (await other.Get("/v1/auth/session")).AssertOkJsonAsync();

        // Again, and with a token that names nothing: the same 200, and no second event.
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(clientId, secret, user.Sessions[0].Token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(clientId, secret, new string('A', 43))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(clientId, secret, "garbage")).StatusCode);

        using var admin = await _app.AdminAsync();
        var events = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.revoked")).AssertOkJsonAsync()).Items("events");
        var revoked = Assert.Single(events);
        JsonShapes.AssertAuditEvent(revoked);
        Assert.Equal("client", revoked.GetProperty("actor").Str("kind"));
        Assert.Equal(clientId, revoked.GetProperty("actor").Str("id"));
        Assert.Equal("token_revoked", revoked.Str("reason"));
        Assert.Equal([user.Sessions[0].SessionId], revoked.GetProperty("sessionIds").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task Failed_client_authentications_from_one_address_make_it_wait_and_leave_other_addresses_alone()
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?>
        {
            ["Tessera:RateLimiting:FailedClientAuthenticationsBeforeBackoff"] = "3",
        });
        using var admin = await app.AdminAsync();
        var created = await (await admin.Post("/v1/admin/clients", new { name = "app", scopes = new[] { "introspect" } })).AssertOkJsonAsync(HttpStatusCode.Created);
        var (clientId, secret) = (created.GetProperty("client").Id(), created.Str("secret"));
        var user = await app.NewUserAsync();

        for (var i = 0; i < 3; i++)
        {
            await AssertOAuthErrorAsync(await OAuthRequests.SendAsync(app, "/oauth2/introspect", [new("token", user.Token)], Basic(clientId, "wrong"), "203.0.113.7"),
                HttpStatusCode.Unauthorized, "invalid_client");
        }

        // Even the right secret waits now, and learns nothing.
        var throttled = await OAuthRequests.SendAsync(app, "/oauth2/introspect", [new("token", user.Token)], Basic(clientId, secret), "203.0.113.7");
        await AssertOAuthErrorAsync(throttled, (HttpStatusCode)429, "rate_limited");
        Assert.True(throttled.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));

        await (await OAuthRequests.SendAsync(app, "/oauth2/introspect", [new("token", user.Token)], Basic(clientId, secret), "203.0.113.8")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task With_no_rotation_overlap_the_previous_secret_stops_at_once()
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?> { ["Tessera:Clients:RotationOverlap"] = "00:00:00" });
        var (clientId, first) = await OAuthRequests.CreateClientAsync(app, "introspect");
        var user = await app.NewUserAsync();
        using var admin = await app.AdminAsync();

        var rotated = (await (await admin.Post($"/v1/admin/clients/{clientId}/rotate")).AssertOkJsonAsync());
        Assert.Equal(JsonValueKind.Null, rotated.GetProperty("client").GetProperty("previousSecretExpiresAt").ValueKind);
        await AssertOAuthErrorAsync(await OAuthRequests.SendAsync(app, "/oauth2/introspect", [new("token", user.Token)], Basic(clientId, first), null),
            HttpStatusCode.Unauthorized, "invalid_client");
        await (await OAuthRequests.SendAsync(app, "/oauth2/introspect", [new("token", user.Token)], Basic(clientId, rotated.Str("secret")), null)).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_negative_rotation_overlap_stops_the_server_with_a_message_that_names_it()
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?> { ["Tessera:Clients:RotationOverlap"] = "-00:00:01" });
        var failure = Assert.ThrowsAny<Exception>(() => app.Anonymous().Dispose());
        Assert.Contains("Tessera:Clients:RotationOverlap", failure.ToString(), StringComparison.Ordinal);
    }

    private async Task<(string Id, string Secret)> CreateClientAsync(params string[] scopes)
    {
        using var admin = await _app.AdminAsync();
        var created = await (await admin.Post("/v1/admin/clients", new { name = "Relying app", scopes })).AssertOkJsonAsync(HttpStatusCode.Created);
        return (created.GetProperty("client").Id(), created.Str("secret"));
    }

    private Task<HttpResponseMessage> IntrospectAsync(string clientId, string secret, string token, bool basic = true) =>
        basic
            ? SendAsync("/oauth2/introspect", [new("token", token), new("token_type_hint", "access_token")], Basic(clientId, secret))
            : SendAsync("/oauth2/introspect", [new("token", token), new("client_id", clientId), new("client_secret", secret)]);

    private Task<HttpResponseMessage> RevokeAsync(string clientId, string secret, string token, bool basic = true) =>
        basic
            ? SendAsync("/oauth2/revoke", [new("token", token)], Basic(clientId, secret))
            : SendAsync("/oauth2/revoke", [new("token", token), new("client_id", clientId), new("client_secret", secret)]);

    private Task<HttpResponseMessage> SendAsync(string path, IEnumerable<KeyValuePair<string, string>> form, string? authorization = null) =>
        OAuthRequests.SendAsync(_app, path, form, authorization, clientIp: null);
}
