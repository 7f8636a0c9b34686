using System.Net;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Admin;

public sealed class BulkTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private const string UnknownUser = "usr_00000000000000000000000000000000";

    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Bulk_deactivate_ends_every_named_users_sessions_and_reports_each()
    {
        var first = await _app.NewUserAsync(sessions: 2);
        var second = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();

        var results = await BulkAsync(admin, new { action = "deactivate", userIds = new[] { first.Id, second.Id }, reason = "offboarding" });

        Assert.Equal(2, results.Count);
        AssertOk(results, first.Id, revoked: 2);
        AssertOk(results, second.Id, revoked: 1);
        await AssertSessionRejectedAsync(first.Token, "account_deactivated");
        await AssertSessionRejectedAsync(second.Token, "account_deactivated");
    }

    [Fact]
    public async Task Bulk_reactivate_brings_users_back()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await BulkAsync(admin, new { action = "deactivate", userIds = new[] { user.Id } });

        var results = await BulkAsync(admin, new { action = "reactivate", userIds = new[] { user.Id } });

        AssertOk(results, user.Id, revoked: 0);
        await _app.LoginAsync(user.Email);
    }

    [Fact]
    public async Task Bulk_ban_with_until_and_bulk_unban()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();

        var banned = await BulkAsync(admin, new { action = "ban", userIds = new[] { user.Id }, reason = "raid", until = DateTimeOffset.UtcNow.AddDays(1) });

        AssertOk(banned, user.Id, revoked: 1);
        await AssertSessionRejectedAsync(user.Token, "account_banned");
        var fetched = (await (await admin.Get($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync()).GetProperty("user");
        Assert.True(fetched.GetProperty("banned").GetBoolean());
        JsonShapes.AssertUtcTimestamp(fetched.GetProperty("bannedUntil"));

        var unbanned = await BulkAsync(admin, new { action = "unban", userIds = new[] { user.Id } });

        AssertOk(unbanned, user.Id, revoked: 0);
        await _app.LoginAsync(user.Email);
    }

    [Fact]
    public async Task Bulk_revoke_sessions_ends_sessions_without_blocking_sign_in()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var admin = await _app.AdminAsync();

        var results = await BulkAsync(admin, new { action = "revoke_sessions", userIds = new[] { user.Id } });

        AssertOk(results, user.Id, revoked: 3);
        using var client = _app.WithToken(user.Token);
        var problem = await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("revoked_by_admin", problem.Str("reason"));
        await _app.LoginAsync(user.Email);
    }

    [Fact]
    public async Task Bulk_delete_deletes_and_ends_sessions()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();

        var results = await BulkAsync(admin, new { action = "delete", userIds = new[] { user.Id } });

        AssertOk(results, user.Id, revoked: 1);
        await AssertSessionRejectedAsync(user.Token, "account_deleted");
    }

    [Fact]
    public async Task Mixed_results_report_not_found_and_cannot_target_self_per_user_and_do_the_rest()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        var adminSession = await _app.LoginAdminAsync();
        using var admin = _app.WithToken(adminSession.Token);

        var results = await BulkAsync(admin, new { action = "ban", userIds = new[] { UnknownUser, adminSession.UserId, user.Id } });

        Assert.Equal(3, results.Count);
        var unknown = Assert.Single(results, r => r.Str("userId") == UnknownUser);
        Assert.False(unknown.GetProperty("ok").GetBoolean());
        Assert.Equal("not_found", unknown.Str("code"));
        Assert.Equal(0, unknown.GetProperty("revokedSessions").GetInt32());
        var self = Assert.Single(results, r => r.Str("userId") == adminSession.UserId);
        Assert.False(self.GetProperty("ok").GetBoolean());
        Assert.Equal("cannot_target_self", self.Str("code"));
        AssertOk(results, user.Id, revoked: 1);
        await AssertSessionRejectedAsync(user.Token, "account_banned");
        await (await admin.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Theory]
    [InlineData("""{"action": "explode", "userIds": ["usr_00000000000000000000000000000000"]}""")]
    [InlineData("""{"action": "DEACTIVATE", "userIds": ["usr_00000000000000000000000000000000"]}""")]
    [InlineData("""{"userIds": ["usr_00000000000000000000000000000000"]}""")]
    [InlineData("""{"action": "deactivate"}""")]
    [InlineData("""{"action": "deactivate", "userIds": []}""")]
    [InlineData("""{"action": "deactivate", "userIds": [""]}""")]
    [InlineData("""{"action": "deactivate", "userIds": "usr_1"}""")]
    [InlineData("""{"action": "ban", "userIds": ["usr_00000000000000000000000000000000"], "until": "2001-01-01T00:00:00Z"}""")]
    public async Task A_bad_bulk_request_gives_400_validation_failed(string json)
    {
        using var admin = await _app.AdminAsync();

        var response = await admin.PostRaw("/v1/admin/users/bulk", json);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task More_than_a_thousand_users_in_one_bulk_request_gives_400()
    {
        using var admin = await _app.AdminAsync();
        var ids = Enumerable.Range(0, 1001).Select(i => $"usr_{i:D32}").ToArray();

        var response = await admin.Post("/v1/admin/users/bulk", new { action = "revoke_sessions", userIds = ids });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task A_user_named_twice_is_changed_once()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();

        var results = await BulkAsync(admin, new { action = "revoke_sessions", userIds = new[] { user.Id, user.Id } });

        Assert.Equal(2, results.Where(r => r.Str("userId") == user.Id).Sum(r => r.GetProperty("revokedSessions").GetInt32()));
        Assert.All(results, r => Assert.True(r.GetProperty("ok").GetBoolean()));
    }

    [Fact]
    public async Task A_bad_action_changes_nobody()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();

        await (await admin.Post("/v1/admin/users/bulk", new { action = "explode", userIds = new[] { user.Id } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");

        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Each_bulk_change_is_in_the_audit_log_per_user()
    {
        var first = await _app.NewUserAsync(sessions: 1);
        var second = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();
        await BulkAsync(admin, new { action = "deactivate", userIds = new[] { first.Id, second.Id }, reason = "bulk reason" });

        foreach (var user in new[] { first, second })
        {
            var events = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=user.deactivated")).AssertOkJsonAsync()).Items("events");
            var deactivated = Assert.Single(events);
            Assert.Equal("bulk reason", deactivated.Str("reason"));
            Assert.Equal([user.Session.SessionId], deactivated.Items("sessionIds").Select(s => s.GetString()));
        }
    }

    private static async Task<IReadOnlyList<JsonElement>> BulkAsync(HttpClient admin, object body) =>
        (await (await admin.Post("/v1/admin/users/bulk", body)).AssertOkJsonAsync()).Items("results");

    private static void AssertOk(IReadOnlyList<JsonElement> results, string userId, int revoked)
    {
        var result = Assert.Single(results, r => r.Str("userId") == userId);
        Assert.True(result.GetProperty("ok").GetBoolean(), $"{result}");
        Assert.Equal(revoked, result.GetProperty("revokedSessions").GetInt32());
        Assert.True(!result.TryGetProperty("code", out var code) || code.ValueKind == JsonValueKind.Null, $"{result}");
    }

    private async Task AssertSessionRejectedAsync(string token, string code)
    {
        using var client = _app.WithToken(token);
        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, code);
    }
}
