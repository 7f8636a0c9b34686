using System.Net;
using Tessera.Server.Tests.Infrastructure;
using Tessera.Server.Tests.Security;
using static Tessera.Server.Tests.Clients.OAuthRequests;

namespace Tessera.Server.Tests.Clients;

/// <summary>
/// The service client routes on PostgreSQL: its migrations (the table, the 'client' actor kind, the session's client) and
/// its row locks.
/// </summary>
public sealed class ServiceClientsOnPostgresTests(PostgresApp postgres) : IClassFixture<PostgresApp>
{
    private readonly TesseraApp _app = postgres.App;

    [Fact]
    public async Task A_client_introspects_is_rotated_revokes_and_is_disabled_on_PostgreSQL()
    {
        var (clientId, first) = await CreateClientAsync(_app, "introspect", "revoke");
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();

        var introspected = await (await SendAsync(_app, "/oauth2/introspect", [new("token", user.Token)], Basic(clientId, first), null)).AssertOkJsonAsync();
        Assert.Equal(user.Id, introspected.Str("sub"));

        var second = (await (await admin.Post($"/v1/admin/clients/{clientId}/rotate")).AssertOkJsonAsync()).Str("secret");
        await (await SendAsync(_app, "/oauth2/introspect", [new("token", user.Token)], Basic(clientId, first), null)).AssertOkJsonAsync();

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(_app, "/oauth2/revoke", [new("token", user.Token), new("client_id", clientId), new("client_secret", second)], null, null)).StatusCode);
        using (var revoked = _app.WithToken(user.Token))
        {
            var problem = await (await revoked.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("token_revoked", problem.Str("reason"));
        }

        var events = (await (await admin.Get($"/v1/admin/audit?userId={clientId}")).AssertOkJsonAsync()).Items("events");
        Assert.Equal(["session.revoked", "client.rotated", "client.created"], events.Select(e => e.Str("action")));
        Assert.Equal("client", events[0].GetProperty("actor").Str("kind"));

        await (await admin.Post($"/v1/admin/clients/{clientId}/disable")).AssertOkJsonAsync();
        await AssertOAuthErrorAsync(await SendAsync(_app, "/oauth2/introspect", [new("token", user.Sessions[1].Token)], Basic(clientId, second), null),
            HttpStatusCode.Unauthorized, "invalid_client");
        var listed = (await (await admin.Get("/v1/admin/clients")).AssertOkJsonAsync()).Items("clients");
        Assert.True(Assert.Single(listed, c => c.Id() == clientId).GetProperty("disabled").GetBoolean());
    }

    [Fact]
    public async Task A_visitor_signs_in_through_a_client_and_other_clients_neither_see_whose_session_it_is_nor_end_it_on_PostgreSQL()
    {
        var (portalId, portalSecret) = await CreateClientAsync(_app, "login", "introspect", "revoke");
        var (otherId, otherSecret) = await CreateClientAsync(_app, "introspect", "revoke");
        var user = await _app.NewUserAsync();

        var signedIn = await VisitorLogins.SignInVisitorAsync(_app, portalId, portalSecret, user.Email, "203.0.113.7");
        var session = signedIn.GetProperty("session");
        Assert.Equal(("203.0.113.7", portalId), (session.Str("ipAddress"), session.Str("clientId")));
        var token = signedIn.Str("token");

        using var admin = await _app.AdminAsync();
        var listed = (await (await admin.Get($"/v1/admin/users/{user.Id}/sessions")).AssertOkJsonAsync()).Items("sessions");
        Assert.Equal(portalId, Assert.Single(listed, s => s.Id() == session.Id()).Str("clientId"));
        Assert.Contains(listed, s => s.Id() == user.Session.SessionId && s.GetProperty("clientId").ValueKind == System.Text.Json.JsonValueKind.Null);

        var across = await SendAsync(_app, "/oauth2/introspect", [new("token", token)], Basic(otherId, otherSecret), null);
        Assert.Equal("""{"active":true}""", await across.ReadTextAsync());
        await AssertOAuthErrorAsync(await SendAsync(_app, "/oauth2/revoke", [new("token", token)], Basic(otherId, otherSecret), null),
            HttpStatusCode.BadRequest, "unauthorized_client");
        var own = await (await SendAsync(_app, "/oauth2/introspect", [new("token", token)], Basic(portalId, portalSecret), null)).AssertOkJsonAsync();
        Assert.Equal(user.Id, own.Str("sub"));
    }
}
