using System.Net;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Admin;

/// <summary>Deactivate, reactivate, ban, unban and delete: response shapes, effects, refusals.</summary>
public sealed class AdminDecisionsTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private const string UnknownUser = "usr_00000000000000000000000000000000";

    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Deactivating_gives_the_user_and_the_revoked_count_and_ends_their_sessions()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate", new { reason = "left the company" })).AssertOkJsonAsync();

        JsonShapes.AssertUser(body.GetProperty("user"));
        Assert.Equal("deactivated", body.GetProperty("user").Str("status"));
        Assert.Equal(2, body.GetProperty("revokedSessions").GetInt32());
        foreach (var session in user.Sessions)
        {
            using var client = _app.WithToken(session.Token);
            await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_deactivated");
        }
    }

    [Fact]
    public async Task Deactivating_without_a_body_works()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate")).AssertOkJsonAsync();

        Assert.Equal("deactivated", body.GetProperty("user").Str("status"));
        Assert.Equal(0, body.GetProperty("revokedSessions").GetInt32());
    }

    [Fact]
    public async Task Reactivating_gives_the_user_back_active_and_lets_them_sign_in()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate")).AssertOkJsonAsync();

        var body = await (await admin.Post($"/v1/admin/users/{user.Id}/reactivate")).AssertOkJsonAsync();

        JsonShapes.AssertUser(body.GetProperty("user"));
        Assert.Equal("active", body.GetProperty("user").Str("status"));
        Assert.False(body.TryGetProperty("revokedSessions", out _));
        await _app.LoginAsync(user.Email);

        // The sessions the deactivation ended stay ended.
        using var old = _app.WithToken(user.Token);
        var problem = await (await old.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("user_deactivated", problem.Str("reason"));
    }

    [Fact]
    public async Task Banning_without_until_gives_a_banned_user_with_null_bannedUntil_and_ends_sessions()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "abuse" })).AssertOkJsonAsync();

        var banned = body.GetProperty("user");
        JsonShapes.AssertUser(banned);
        Assert.True(banned.GetProperty("banned").GetBoolean());
        Assert.Equal(JsonValueKind.Null, banned.GetProperty("bannedUntil").ValueKind);
        Assert.Equal("active", banned.Str("status"));
        Assert.Equal(2, body.GetProperty("revokedSessions").GetInt32());
        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_banned");
    }

    [Fact]
    public async Task Banning_with_until_gives_bannedUntil_and_a_session_check_names_it()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();
        var until = DateTimeOffset.UtcNow.AddHours(6);

        var body = await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "cool off", until })).AssertOkJsonAsync();

        var bannedUntil = JsonShapes.AssertUtcTimestamp(body.GetProperty("user").GetProperty("bannedUntil"));
        Assert.True((bannedUntil - until).Duration() < TimeSpan.FromSeconds(1));
        Assert.True(body.GetProperty("user").GetProperty("banned").GetBoolean());
        using var client = _app.WithToken(user.Token);
        var problem = await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_banned");
        Assert.True((JsonShapes.AssertUtcTimestamp(problem.GetProperty("bannedUntil")) - until).Duration() < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_ban_until_given_with_an_offset_is_read_as_that_instant()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        var until = DateTimeOffset.UtcNow.AddDays(1);
        var withOffset = until.ToOffset(TimeSpan.FromHours(2)).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture);

        var body = await (await admin.PostRaw($"/v1/admin/users/{user.Id}/ban", $$"""{"until": "{{withOffset}}"}""")).AssertOkJsonAsync();

        var bannedUntil = JsonShapes.AssertUtcTimestamp(body.GetProperty("user").GetProperty("bannedUntil"));
        Assert.True((bannedUntil - until).Duration() < TimeSpan.FromSeconds(1), $"{bannedUntil:O} vs {until:O}");
    }

    [Fact]
    public async Task A_ban_until_a_time_in_the_past_gives_400_and_changes_nothing()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();

        var response = await admin.Post($"/v1/admin/users/{user.Id}/ban", new { until = DateTimeOffset.UtcNow.AddMinutes(-5) });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        var fetched = await (await admin.Get($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();
        Assert.False(fetched.GetProperty("user").GetProperty("banned").GetBoolean());
    }

    [Fact]
    public async Task A_ban_with_an_unreadable_until_gives_400_validation_failed()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();

        var response = await admin.PostRaw($"/v1/admin/users/{user.Id}/ban", """{"until": "next tuesday"}""");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Unbanning_gives_the_user_unbanned_and_they_can_sign_in_at_once()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "spam" })).AssertOkJsonAsync();

        var body = await (await admin.Post($"/v1/admin/users/{user.Id}/unban")).AssertOkJsonAsync();

        JsonShapes.AssertUser(body.GetProperty("user"));
        Assert.False(body.GetProperty("user").GetProperty("banned").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("user").GetProperty("bannedUntil").ValueKind);
        await _app.LoginAsync(user.Email);
    }

    [Fact]
    public async Task Deleting_gives_the_revoked_count_anonymises_the_user_and_ends_sessions()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Delete($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();

        Assert.Equal(2, body.GetProperty("revokedSessions").GetInt32());
        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_deleted");
        var fetched = (await (await admin.Get($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync()).GetProperty("user");
        Assert.Equal("deleted", fetched.Str("status"));
        Assert.DoesNotContain(user.Email, fetched.GetRawText(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_deleted_users_email_is_free_again()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Delete($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();

        var newId = await _app.RegisterAsync(user.Email);

        Assert.NotEqual(user.Id, newId);
    }

    [Fact]
    public async Task A_user_who_registered_the_old_anonymised_address_of_another_cannot_stop_their_deletion()
    {
        var victim = await _app.NewUserAsync(sessions: 1);
        await _app.RegisterAsync($"deleted+{victim.Id}@deleted.invalid");
        using var admin = await _app.AdminAsync();

        var single = await admin.Delete($"/v1/admin/users/{victim.Id}");

        Assert.Equal(1, (await single.AssertOkJsonAsync()).GetProperty("revokedSessions").GetInt32());
        var other = await _app.NewUserAsync(sessions: 0);
        await _app.RegisterAsync($"deleted+{other.Id}@deleted.invalid");
        var bulk = await (await admin.Post("/v1/admin/users/bulk", new { action = "delete", userIds = new[] { other.Id } })).AssertOkJsonAsync();
        Assert.True(bulk.GetProperty("results")[0].GetProperty("ok").GetBoolean(), bulk.GetRawText());
    }

    [Fact]
    public async Task The_value_a_deleted_user_keeps_as_email_cannot_be_registered()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Delete($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();
        var tombstone = (await (await admin.Get($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync()).GetProperty("user").Str("email");
        using var client = _app.Anonymous();

        var response = await client.Post("/v1/auth/register", new { email = tombstone, password = TesseraApp.Password });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Deleting_twice_is_harmless()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();
        await (await admin.Delete($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();

        var again = await admin.Delete($"/v1/admin/users/{user.Id}");

        Assert.Equal(0, (await again.AssertOkJsonAsync()).GetProperty("revokedSessions").GetInt32());
    }

    [Fact]
    public async Task A_deleted_user_cannot_be_reactivated_or_unbanned_back_to_life()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Delete($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();

        var reactivate = await admin.Post($"/v1/admin/users/{user.Id}/reactivate");

        Assert.True(reactivate.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.BadRequest, $"{(int)reactivate.StatusCode}");
        var fetched = (await (await admin.Get($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync()).GetProperty("user");
        Assert.Equal("deleted", fetched.Str("status"));
    }

    [Theory]
    [InlineData("POST", "deactivate")]
    [InlineData("POST", "reactivate")]
    [InlineData("POST", "ban")]
    [InlineData("POST", "unban")]
    [InlineData("DELETE", "")]
    public async Task An_unknown_user_id_gives_404_not_found(string method, string action)
    {
        using var admin = await _app.AdminAsync();
        var path = action.Length == 0 ? $"/v1/admin/users/{UnknownUser}" : $"/v1/admin/users/{UnknownUser}/{action}";

        var response = await admin.Submit(new HttpRequestMessage(new HttpMethod(method), path));

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Theory]
    [InlineData("POST", "deactivate")]
    [InlineData("POST", "ban")]
    [InlineData("DELETE", "")]
    public async Task An_admin_cannot_deactivate_ban_or_delete_their_own_account(string method, string action)
    {
        var adminSession = await _app.LoginAdminAsync();
        using var admin = _app.WithToken(adminSession.Token);
        var path = action.Length == 0 ? $"/v1/admin/users/{adminSession.UserId}" : $"/v1/admin/users/{adminSession.UserId}/{action}";

        var response = await admin.Submit(new HttpRequestMessage(new HttpMethod(method), path));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "cannot_target_self");
        await (await admin.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_reason_longer_than_allowed_gives_400_and_changes_nothing()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var admin = await _app.AdminAsync();

        var response = await admin.Post($"/v1/admin/users/{user.Id}/deactivate", new { reason = new string('x', 5000) });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Registering_with_a_role_in_the_body_does_not_make_an_admin()
    {
        using var client = _app.Anonymous();
        var email = TesseraApp.NewEmail("wannabe");

        var body = await (await client.PostRaw("/v1/auth/register", $$"""{"email": "{{email}}", "password": "correct-horse-1", "role": "admin"}""")).AssertOkJsonAsync(HttpStatusCode.Created);

        Assert.Equal("user", body.GetProperty("user").Str("role"));
    }
}
