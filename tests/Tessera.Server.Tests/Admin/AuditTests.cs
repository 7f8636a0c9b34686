using System.Globalization;
using System.Net;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Admin;

public sealed class AuditTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Every_admin_action_and_session_termination_is_in_the_audit_log_with_actor_target_sessions_and_reason()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        var adminSession = await _app.LoginAdminAsync();
        var adminId = adminSession.UserId;
        using var admin = _app.WithToken(adminSession.Token);

        await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate", new { reason = "r-deactivate" })).AssertOkJsonAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/reactivate")).AssertOkJsonAsync();
        var afterReactivation = await _app.LoginAsync(user.Email);
        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "r-ban", until = DateTimeOffset.UtcNow.AddDays(2) })).AssertOkJsonAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/unban")).AssertOkJsonAsync();
        var beforeAdminRevoke = await _app.LoginAsync(user.Email);
        var single = await _app.LoginAsync(user.Email);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.Delete($"/v1/admin/users/{user.Id}/sessions/{single.SessionId}")).StatusCode);
        await (await admin.Delete($"/v1/admin/users/{user.Id}/sessions")).AssertOkJsonAsync();
        var beforeDelete = await _app.LoginAsync(user.Email);
        await (await admin.Delete($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();

        var events = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&limit=1000")).AssertOkJsonAsync()).Items("events");

        Assert.All(events, JsonShapes.AssertAuditEvent);
        Assert.All(events, e => Assert.Equal(user.Id, e.Str("targetUserId")));
        var times = events.Select(e => JsonShapes.AssertUtcTimestamp(e.GetProperty("at"))).ToList();
        Assert.Equal(times.OrderDescending(), times);

        AssertAdminEvent(events, "user.deactivated", adminId, "r-deactivate", user.Sessions.Select(s => s.SessionId));
        AssertAdminEvent(events, "user.reactivated", adminId, null, []);
        AssertAdminEvent(events, "user.banned", adminId, "r-ban", [afterReactivation.SessionId]);
        AssertAdminEvent(events, "user.unbanned", adminId, null, []);
        AssertAdminEvent(events, "user.deleted", adminId, null, [beforeDelete.SessionId]);

        var revocations = events.Where(e => e.Str("action") == "session.revoked").ToList();
        AssertRevocation(revocations, "user_deactivated", adminId, user.Sessions.Select(s => s.SessionId));
        AssertRevocation(revocations, "user_banned", adminId, [afterReactivation.SessionId]);
        AssertRevocation(revocations, "user_deleted", adminId, [beforeDelete.SessionId]);
        var byAdmin = revocations.Where(e => e.Str("reason") == "revoked_by_admin").ToList();
        Assert.Equal(2, byAdmin.Count);
        Assert.Equal([beforeAdminRevoke.SessionId], byAdmin[0].Items("sessionIds").Select(s => s.GetString()));
        Assert.Equal([single.SessionId], byAdmin[1].Items("sessionIds").Select(s => s.GetString()));
        Assert.All(byAdmin, e => Assert.Equal(adminId, e.GetProperty("actor").Str("id")));

        Assert.Equal(6, events.Count(e => e.Str("action") == "session.created"));
        Assert.Single(events, e => e.Str("action") == "user.registered");
    }

    [Fact]
    public async Task The_actor_of_an_admin_action_is_kind_admin_and_a_users_own_action_is_kind_user()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        var adminSession = await _app.LoginAdminAsync();
        using var admin = _app.WithToken(adminSession.Token);
        using var client = _app.WithToken(user.Sessions[0].Token);
        await client.Delete($"/v1/sessions/{user.Sessions[1].SessionId}");
        await admin.Delete($"/v1/admin/users/{user.Id}/sessions");

        var revocations = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.revoked")).AssertOkJsonAsync()).Items("events");

        Assert.Equal(2, revocations.Count);
        Assert.Equal("admin", revocations[0].GetProperty("actor").Str("kind"));
        Assert.Equal(adminSession.UserId, revocations[0].GetProperty("actor").Str("id"));
        Assert.Equal("user", revocations[1].GetProperty("actor").Str("kind"));
        Assert.Equal(user.Id, revocations[1].GetProperty("actor").Str("id"));
    }

    [Fact]
    public async Task An_admin_action_from_the_CLI_is_recorded_with_actor_kind_cli()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        var cli = await _app.LoginAsync(TesseraApp.AdminEmail, TesseraApp.AdminPassword, device: new { name = "tessera CLI", platform = "cli" });
        using var admin = _app.WithToken(cli.Token);
        await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate", new { reason = "from the terminal" })).AssertOkJsonAsync();

        var deactivated = Assert.Single((await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=user.deactivated")).AssertOkJsonAsync()).Items("events"));

        Assert.Equal("cli", deactivated.GetProperty("actor").Str("kind"));
        Assert.Equal(cli.UserId, deactivated.GetProperty("actor").Str("id"));
    }

    [Fact]
    public async Task An_admin_action_records_the_admins_ip_address()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/admin/users/{user.Id}/deactivate");
        request.Headers.Add(TesseraApp.ClientIpHeader, "2001:db8::42");
        await (await admin.Submit(request)).AssertOkJsonAsync();

        var deactivated = Assert.Single((await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=user.deactivated")).AssertOkJsonAsync()).Items("events"));

        Assert.Equal("2001:db8::42", deactivated.Str("ipAddress"));
    }

    [Fact]
    public async Task The_action_filter_returns_only_that_action()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var admin = await _app.AdminAsync();

        var created = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.created")).AssertOkJsonAsync()).Items("events");
        var everything = (await (await admin.Get("/v1/admin/audit?action=session.created&limit=1000")).AssertOkJsonAsync()).Items("events");

        Assert.Equal(3, created.Count);
        Assert.All(everything, e => Assert.Equal("session.created", e.Str("action")));
    }

    [Fact]
    public async Task The_user_filter_matches_the_actor_too()
    {
        var adminSession = await _app.LoginAdminAsync();
        using var admin = _app.WithToken(adminSession.Token);
        var user = await _app.NewUserAsync(sessions: 0);
        await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate")).AssertOkJsonAsync();

        var events = (await (await admin.Get($"/v1/admin/audit?userId={adminSession.UserId}&action=user.deactivated&limit=1000")).AssertOkJsonAsync()).Items("events");

        Assert.Contains(events, e => e.Str("targetUserId") == user.Id);
    }

    [Fact]
    public async Task The_limit_returns_the_newest_events()
    {
        var user = await _app.NewUserAsync(sessions: 4);
        using var admin = await _app.AdminAsync();

        var all = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}")).AssertOkJsonAsync()).Items("events");
        var two = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&limit=2")).AssertOkJsonAsync()).Items("events");

        Assert.Equal(5, all.Count);
        Assert.Equal(all.Take(2).Select(e => e.Id()), two.Select(e => e.Id()));
        Assert.Equal("user.registered", all[^1].Str("action"));
        Assert.Equal(user.Sessions[^1].SessionId, all[0].Items("sessionIds")[0].GetString());
    }

    [Fact]
    public async Task The_after_filter_leaves_out_older_events()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        var cut = DateTimeOffset.UtcNow;
        await Task.Delay(50, TestContext.Current.CancellationToken);
        var later = await _app.LoginAsync(user.Email);
        using var admin = await _app.AdminAsync();
        var after = Uri.EscapeDataString(cut.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));

        var events = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&after={after}")).AssertOkJsonAsync()).Items("events");

        var only = Assert.Single(events);
        Assert.Equal("session.created", only.Str("action"));
        Assert.Equal([later.SessionId], only.Items("sessionIds").Select(s => s.GetString()));
    }

    [Theory]
    [InlineData("action=user.exploded")]
    [InlineData("limit=0")]
    [InlineData("limit=1000000")]
    [InlineData("limit=many")]
    [InlineData("after=yesterday")]
    public async Task A_bad_audit_filter_gives_400_validation_failed(string query)
    {
        using var admin = await _app.AdminAsync();

        var response = await admin.Get($"/v1/admin/audit?{query}");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task An_unknown_user_filter_gives_an_empty_list()
    {
        using var admin = await _app.AdminAsync();

        var events = (await (await admin.Get("/v1/admin/audit?userId=usr_00000000000000000000000000000000")).AssertOkJsonAsync()).Items("events");

        Assert.Empty(events);
    }

    private static void AssertAdminEvent(IReadOnlyList<JsonElement> events, string action, string adminId, string? reason, IEnumerable<string> sessionIds)
    {
        var found = Assert.Single(events, e => e.Str("action") == action);
        Assert.Equal("admin", found.GetProperty("actor").Str("kind"));
        Assert.Equal(adminId, found.GetProperty("actor").Str("id"));
        Assert.Equal(reason, found.GetProperty("reason").ValueKind == JsonValueKind.Null ? null : found.Str("reason"));
        Assert.Equal(sessionIds.Order(StringComparer.Ordinal), found.Items("sessionIds").Select(s => s.GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal(TesseraApp.DefaultClientIp, found.Str("ipAddress"));
    }

    private static void AssertRevocation(IReadOnlyList<JsonElement> revocations, string reason, string adminId, IEnumerable<string> sessionIds)
    {
        var found = Assert.Single(revocations, e => e.Str("reason") == reason);
        Assert.Equal(adminId, found.GetProperty("actor").Str("id"));
        Assert.Equal(sessionIds.Order(StringComparer.Ordinal), found.Items("sessionIds").Select(s => s.GetString()!).Order(StringComparer.Ordinal));
    }
}
