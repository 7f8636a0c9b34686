using System.Net;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Admin;

public sealed class AdminUsersTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private const string UnknownUser = "usr_00000000000000000000000000000000";

    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task The_users_list_has_every_User_field_and_a_total()
    {
        var tag = Tag();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await _app.RegisterAsync(TesseraApp.NewEmail(tag)));
        }

        using var admin = await _app.AdminAsync();

        var body = await (await admin.Get($"/v1/admin/users?search={tag}")).AssertOkJsonAsync();

        Assert.Equal(3, body.GetProperty("total").GetInt32());
        var users = body.Items("users");
        Assert.All(users, JsonShapes.AssertUser);
        Assert.Equal(ids.Order(StringComparer.Ordinal), users.Select(u => u.Id()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_users_list_without_filters_includes_the_admin()
    {
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Get("/v1/admin/users?pageSize=200")).AssertOkJsonAsync();

        Assert.True(body.GetProperty("total").GetInt32() >= 1);
        Assert.Contains(body.Items("users"), u => u.Str("email") == TesseraApp.AdminEmail && u.Str("role") == "admin");
    }

    [Fact]
    public async Task Search_matches_part_of_the_email_in_any_case_and_the_display_name()
    {
        var tag = Tag();
        var byEmail = await _app.RegisterAsync(TesseraApp.NewEmail(tag));
        var byName = await _app.RegisterAsync(TesseraApp.NewEmail("someone"), displayName: $"Named {tag} Person");
        await _app.RegisterAsync(TesseraApp.NewEmail("unrelated"));
        using var admin = await _app.AdminAsync();

        var lower = (await (await admin.Get($"/v1/admin/users?search={tag}")).AssertOkJsonAsync()).Items("users").Select(u => u.Id()).ToList();
        var upper = (await (await admin.Get($"/v1/admin/users?search={tag.ToUpperInvariant()}")).AssertOkJsonAsync()).Items("users").Select(u => u.Id()).ToList();

        Assert.Equal(new[] { byEmail, byName }.Order(StringComparer.Ordinal), lower.Order(StringComparer.Ordinal));
        Assert.Equal(lower.Order(StringComparer.Ordinal), upper.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Search_treats_like_wildcards_as_plain_text()
    {
        var tag = Tag();
        await _app.RegisterAsync(TesseraApp.NewEmail(tag));
        using var admin = await _app.AdminAsync();

        var percent = await (await admin.Get("/v1/admin/users?search=%25")).AssertOkJsonAsync();
        var underscore = await (await admin.Get($"/v1/admin/users?search={tag[..4]}_{tag[5..]}")).AssertOkJsonAsync();

        Assert.Equal(0, percent.GetProperty("total").GetInt32());
        Assert.Equal(0, underscore.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task The_status_filter_selects_active_deactivated_banned_and_deleted_users()
    {
        var tag = Tag();
        var active = await _app.RegisterAsync(TesseraApp.NewEmail(tag));
        var deactivated = await _app.RegisterAsync(TesseraApp.NewEmail(tag));
        var banned = await _app.RegisterAsync(TesseraApp.NewEmail(tag));
        var deleted = await _app.RegisterAsync(TesseraApp.NewEmail(tag));
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{deactivated}/deactivate")).AssertOkJsonAsync();
        await (await admin.Post($"/v1/admin/users/{banned}/ban", new { reason = "spam" })).AssertOkJsonAsync();
        await (await admin.Delete($"/v1/admin/users/{deleted}")).AssertOkJsonAsync();

        var activeIds = await IdsAsync(admin, $"search={tag}&status=active");
        var deactivatedIds = await IdsAsync(admin, $"search={tag}&status=deactivated");
        var bannedIds = await IdsAsync(admin, $"search={tag}&status=banned");
        var allDeleted = (await (await admin.Get("/v1/admin/users?status=deleted&pageSize=200")).AssertOkJsonAsync()).Items("users");

        Assert.Contains(active, activeIds);
        Assert.DoesNotContain(deactivated, activeIds);
        Assert.Equal([deactivated], deactivatedIds);
        Assert.Equal([banned], bannedIds);
        Assert.Contains(allDeleted, u => u.Id() == deleted);
        Assert.All(allDeleted, u => Assert.Equal("deleted", u.Str("status")));
    }

    [Fact]
    public async Task Each_status_filter_returns_only_users_in_that_state()
    {
        using var admin = await _app.AdminAsync();

        foreach (var status in new[] { "active", "deactivated", "deleted" })
        {
            var users = (await (await admin.Get($"/v1/admin/users?status={status}&pageSize=200")).AssertOkJsonAsync()).Items("users");
            Assert.All(users, u => Assert.Equal(status, u.Str("status")));
        }

        var banned = (await (await admin.Get("/v1/admin/users?status=banned&pageSize=200")).AssertOkJsonAsync()).Items("users");
        Assert.All(banned, u => Assert.True(u.GetProperty("banned").GetBoolean()));
    }

    [Fact]
    public async Task Pages_split_the_results_without_overlap_and_keep_the_total()
    {
        var tag = Tag();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await _app.RegisterAsync(TesseraApp.NewEmail(tag)));
        }

        using var admin = await _app.AdminAsync();

        var pages = new List<IReadOnlyList<JsonElement>>();
        for (var page = 1; page <= 4; page++)
        {
            var body = await (await admin.Get($"/v1/admin/users?search={tag}&page={page}&pageSize=2")).AssertOkJsonAsync();
            Assert.Equal(5, body.GetProperty("total").GetInt32());
            pages.Add(body.Items("users"));
        }

        Assert.Equal([2, 2, 1, 0], pages.Select(p => p.Count));
        var seen = pages.SelectMany(p => p).Select(u => u.Id()).ToList();
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_page_far_beyond_the_end_is_empty_but_keeps_the_total()
    {
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Get($"/v1/admin/users?page={int.MaxValue}&pageSize=200")).AssertOkJsonAsync();

        Assert.Empty(body.Items("users"));
        Assert.True(body.GetProperty("total").GetInt32() >= 1);
    }

    [Theory]
    [InlineData("status=everyone")]
    [InlineData("status=ACTIVE_NOW")]
    [InlineData("pageSize=0")]
    [InlineData("pageSize=100000")]
    [InlineData("pageSize=-1")]
    [InlineData("pageSize=abc")]
    [InlineData("page=0")]
    [InlineData("page=two")]
    public async Task A_bad_filter_or_page_gives_400_validation_failed(string query)
    {
        using var admin = await _app.AdminAsync();

        var response = await admin.Get($"/v1/admin/users?{query}");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Getting_a_user_gives_the_user_and_the_number_of_active_sessions()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using (var ended = _app.WithToken(user.Sessions[2].Token))
        {
            await ended.Post("/v1/auth/logout");
        }

        using var admin = await _app.AdminAsync();

        var body = await (await admin.Get($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();

        JsonShapes.AssertUser(body.GetProperty("user"));
        Assert.Equal(user.Id, body.GetProperty("user").Id());
        Assert.Equal(user.Email, body.GetProperty("user").Str("email"));
        Assert.Equal(2, body.GetProperty("activeSessions").GetInt32());
    }

    [Fact]
    public async Task Getting_an_unknown_user_gives_404_not_found()
    {
        using var admin = await _app.AdminAsync();

        await (await admin.Get($"/v1/admin/users/{UnknownUser}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await admin.Get("/v1/admin/users/not-even-an-id")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task A_users_sessions_are_listed_for_the_admin_none_of_them_current()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();

        var sessions = (await (await admin.Get($"/v1/admin/users/{user.Id}/sessions")).AssertOkJsonAsync()).Items("sessions");

        Assert.Equal(user.Sessions.Select(s => s.SessionId).Order(StringComparer.Ordinal), sessions.Select(s => s.Id()).Order(StringComparer.Ordinal));
        Assert.All(sessions, JsonShapes.AssertSession);
        Assert.All(sessions, s => Assert.False(s.GetProperty("current").GetBoolean()));
    }

    [Fact]
    public async Task Listing_the_sessions_of_an_unknown_user_gives_404()
    {
        using var admin = await _app.AdminAsync();

        await (await admin.Get($"/v1/admin/users/{UnknownUser}/sessions")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Revoking_all_of_a_users_sessions_gives_the_count_and_they_get_revoked_by_admin()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Delete($"/v1/admin/users/{user.Id}/sessions")).AssertOkJsonAsync();

        Assert.Equal(3, body.GetProperty("revoked").GetInt32());
        foreach (var session in user.Sessions)
        {
            using var client = _app.WithToken(session.Token);
            var problem = await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("revoked_by_admin", problem.Str("reason"));
        }

        // The user is not blocked: a new sign-in works.
        await _app.LoginAsync(user.Email);
    }

    [Fact]
    public async Task Revoking_all_sessions_of_an_unknown_user_gives_404()
    {
        using var admin = await _app.AdminAsync();

        await (await admin.Delete($"/v1/admin/users/{UnknownUser}/sessions")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Revoking_one_session_gives_204_and_ends_only_that_one()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();

        var response = await admin.Delete($"/v1/admin/users/{user.Id}/sessions/{user.Sessions[0].SessionId}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        using var ended = _app.WithToken(user.Sessions[0].Token);
        var problem = await (await ended.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("revoked_by_admin", problem.Str("reason"));
        using var kept = _app.WithToken(user.Sessions[1].Token);
        await (await kept.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Revoking_an_unknown_session_or_one_of_another_user_gives_404()
    {
        var user = await _app.NewUserAsync();
        var other = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();

        await (await admin.Delete($"/v1/admin/users/{user.Id}/sessions/ses_00000000000000000000000000000000"))
            .AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await admin.Delete($"/v1/admin/users/{user.Id}/sessions/{other.Session.SessionId}"))
            .AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await admin.Delete($"/v1/admin/users/{UnknownUser}/sessions/{other.Session.SessionId}"))
            .AssertProblemAsync(HttpStatusCode.NotFound, "not_found");

        using var otherClient = _app.WithToken(other.Token);
        await (await otherClient.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_session_is_shown_and_ended_by_its_id_alone_with_its_user_and_audited_as_revoked_by_admin()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();
        var target = user.Sessions[0].SessionId;

        var shown = await (await admin.Get($"/v1/admin/sessions/{target}")).AssertOkJsonAsync();
        Assert.Equal(user.Id, shown.GetProperty("user").Id());
        Assert.Equal(target, shown.GetProperty("session").Id());
        Assert.False(shown.GetProperty("session").GetProperty("current").GetBoolean());

        var response = await admin.Delete($"/v1/admin/sessions/{target}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        using var ended = _app.WithToken(user.Sessions[0].Token);
        var problem = await (await ended.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("revoked_by_admin", problem.Str("reason"));
        using var kept = _app.WithToken(user.Sessions[1].Token);
        await (await kept.Get("/v1/auth/session")).AssertOkJsonAsync();
        var revoked = Assert.Single((await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.revoked")).AssertOkJsonAsync()).Items("events"));
        Assert.Equal("revoked_by_admin", revoked.Str("reason"));
        Assert.Equal([target], revoked.Items("sessionIds").Select(s => s.GetString()));

        // Ended now: neither shown nor ended again; an unknown or malformed id is not found either.
        await (await admin.Get($"/v1/admin/sessions/{target}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await admin.Delete($"/v1/admin/sessions/{target}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await admin.Get("/v1/admin/sessions/ses_00000000000000000000000000000000")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await admin.Delete("/v1/admin/sessions/ses_00000000000000000000000000000000")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await admin.Delete($"/v1/admin/sessions/{new string('x', 200)}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    private static string Tag() => "t" + Guid.NewGuid().ToString("N")[..10];

    private static async Task<List<string>> IdsAsync(HttpClient admin, string query) =>
        (await (await admin.Get($"/v1/admin/users?{query}")).AssertOkJsonAsync()).Items("users").Select(u => u.Id()).ToList();
}
