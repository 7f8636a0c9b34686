using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Sessions;

public sealed class MySessionsTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task The_list_has_every_live_session_of_the_caller_with_exactly_one_current()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var client = _app.WithToken(user.Sessions[1].Token);

        var sessions = (await (await client.Get("/v1/sessions")).AssertOkJsonAsync()).Items("sessions");

        Assert.Equal(3, sessions.Count);
        Assert.All(sessions, JsonShapes.AssertSession);
        Assert.Equal(user.Sessions.Select(s => s.SessionId).Order(StringComparer.Ordinal), sessions.Select(s => s.Id()).Order(StringComparer.Ordinal));
        var current = Assert.Single(sessions, s => s.GetProperty("current").GetBoolean());
        Assert.Equal(user.Sessions[1].SessionId, current.Id());
    }

    [Fact]
    public async Task The_list_leaves_out_ended_sessions_and_other_users_sessions()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        var stranger = await _app.NewUserAsync(sessions: 1);
        using (var ended = _app.WithToken(user.Sessions[2].Token))
        {
            await ended.Post("/v1/auth/logout");
        }

        using var client = _app.WithToken(user.Sessions[0].Token);

        var ids = (await (await client.Get("/v1/sessions")).AssertOkJsonAsync()).Items("sessions").Select(s => s.Id()).ToList();

        Assert.Equal(2, ids.Count);
        Assert.DoesNotContain(user.Sessions[2].SessionId, ids);
        Assert.DoesNotContain(stranger.Session.SessionId, ids);
    }

    [Fact]
    public async Task Ending_another_of_my_sessions_gives_204_and_it_gets_revoked_by_user()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var client = _app.WithToken(user.Sessions[0].Token);

        var response = await client.Delete($"/v1/sessions/{user.Sessions[1].SessionId}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        using var other = _app.WithToken(user.Sessions[1].Token);
        var problem = await (await other.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("revoked_by_user", problem.Str("reason"));
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Ending_an_unknown_session_gives_404_not_found()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var response = await client.Delete("/v1/sessions/ses_00000000000000000000000000000000");

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Ending_another_users_session_gives_the_same_404_and_that_session_still_works()
    {
        var user = await _app.NewUserAsync();
        var victim = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var foreign = await client.Delete($"/v1/sessions/{victim.Session.SessionId}");
        var unknown = await client.Delete("/v1/sessions/ses_00000000000000000000000000000000");

        var foreignProblem = await foreign.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        var unknownProblem = await unknown.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        Assert.Equal(unknownProblem.Str("detail"), foreignProblem.Str("detail"));
        using var victimClient = _app.WithToken(victim.Token);
        await (await victimClient.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Ending_an_already_ended_session_gives_404()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var client = _app.WithToken(user.Sessions[0].Token);
        Assert.Equal(HttpStatusCode.NoContent, (await client.Delete($"/v1/sessions/{user.Sessions[1].SessionId}")).StatusCode);

        var again = await client.Delete($"/v1/sessions/{user.Sessions[1].SessionId}");

        await again.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Ending_the_current_session_this_way_gives_400_cannot_revoke_current()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var response = await client.Delete($"/v1/sessions/{user.Session.SessionId}");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "cannot_revoke_current");
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Revoke_others_gives_the_count_and_keeps_only_the_current_session()
    {
        var user = await _app.NewUserAsync(sessions: 4);
        using var client = _app.WithToken(user.Sessions[0].Token);

        var body = await (await client.Post("/v1/sessions/revoke-others")).AssertOkJsonAsync();

        Assert.Equal(3, body.GetProperty("revoked").GetInt32());
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        foreach (var other in user.Sessions.Skip(1))
        {
            using var otherClient = _app.WithToken(other.Token);
            var problem = await (await otherClient.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("signed_out_other_devices", problem.Str("reason"));
        }

        var left = (await (await client.Get("/v1/sessions")).AssertOkJsonAsync()).Items("sessions");
        Assert.Equal(user.Sessions[0].SessionId, Assert.Single(left).Id());
    }

    [Fact]
    public async Task Revoke_others_with_no_other_session_revokes_none()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var body = await (await client.Post("/v1/sessions/revoke-others")).AssertOkJsonAsync();

        Assert.Equal(0, body.GetProperty("revoked").GetInt32());
    }

    [Fact]
    public async Task Revoke_all_gives_the_count_including_the_current_session_and_ends_them_all()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var client = _app.WithToken(user.Sessions[0].Token);

        var body = await (await client.Post("/v1/sessions/revoke-all")).AssertOkJsonAsync();

        Assert.Equal(3, body.GetProperty("revoked").GetInt32());
        foreach (var session in user.Sessions)
        {
            using var sessionClient = _app.WithToken(session.Token);
            var problem = await (await sessionClient.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("signed_out_all_devices", problem.Str("reason"));
        }
    }

    [Fact]
    public async Task Every_sessions_endpoint_needs_a_session()
    {
        using var client = _app.Anonymous();

        await (await client.Get("/v1/sessions")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
        await (await client.Delete("/v1/sessions/ses_00000000000000000000000000000000")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
        await (await client.Post("/v1/sessions/revoke-others")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
        await (await client.Post("/v1/sessions/revoke-all")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task Each_ending_is_in_the_audit_log_with_the_sessions_and_reason()
    {
        var user = await _app.NewUserAsync(sessions: 4);
        using var client = _app.WithToken(user.Sessions[0].Token);
        await client.Delete($"/v1/sessions/{user.Sessions[3].SessionId}");
        await client.Post("/v1/sessions/revoke-others");
        await client.Post("/v1/sessions/revoke-all");
        using var admin = await _app.AdminAsync();

        var events = (await (await admin.Get($"/v1/admin/audit?userId={user.Id}&action=session.revoked")).AssertOkJsonAsync()).Items("events");

        Assert.Equal(["signed_out_all_devices", "signed_out_other_devices", "revoked_by_user"], events.Select(e => e.Str("reason")));
        Assert.Equal([user.Sessions[0].SessionId], events[0].Items("sessionIds").Select(s => s.GetString()));
        Assert.Equal(
            new[] { user.Sessions[1].SessionId, user.Sessions[2].SessionId }.Order(StringComparer.Ordinal),
            events[1].Items("sessionIds").Select(s => s.GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal([user.Sessions[3].SessionId], events[2].Items("sessionIds").Select(s => s.GetString()));
        Assert.All(events, e => Assert.Equal(user.Id, e.GetProperty("actor").Str("id")));
    }
}
