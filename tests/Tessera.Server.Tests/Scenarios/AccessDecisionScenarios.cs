using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Scenarios;

/// <summary>The reports that started Tessera: a decision about a user must hold on the very next request.</summary>
public sealed class AccessDecisionScenarios(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Deactivating_a_user_with_two_live_sessions_ends_both_at_once_and_blocks_login()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var laptop = _app.WithToken(user.Sessions[0].Token);
        using var phone = _app.WithToken(user.Sessions[1].Token);
        await (await laptop.Get("/v1/auth/session")).AssertOkJsonAsync();
        await (await phone.Get("/v1/auth/session")).AssertOkJsonAsync();
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate", new { reason = "contract ended" })).AssertOkJsonAsync();

        Assert.Equal(2, body.GetProperty("revokedSessions").GetInt32());
        await (await laptop.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_deactivated");
        await (await phone.Get("/v1/sessions")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_deactivated");
        using var anonymous = _app.Anonymous();
        await (await anonymous.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "account_deactivated");
        var sessions = (await (await admin.Get($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync()).GetProperty("activeSessions").GetInt32();
        Assert.Equal(0, sessions);
    }

    [Fact]
    public async Task A_banned_user_is_blocked_at_once_and_once_unbanned_signs_in_on_the_very_next_request()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        using var admin = await _app.AdminAsync();
        using var anonymous = _app.Anonymous();

        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "spam" })).AssertOkJsonAsync();

        await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_banned");
        await (await anonymous.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");

        await (await admin.Post($"/v1/admin/users/{user.Id}/unban")).AssertOkJsonAsync();

        var again = await _app.LoginAsync(user.Email);
        using var newClient = _app.WithToken(again.Token);
        await (await newClient.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Ban_and_unban_repeated_quickly_always_hold_on_the_next_request()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        using var anonymous = _app.Anonymous();

        for (var round = 0; round < 5; round++)
        {
            await (await admin.Post($"/v1/admin/users/{user.Id}/ban")).AssertOkJsonAsync();
            await (await anonymous.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password }))
                .AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");
            await (await admin.Post($"/v1/admin/users/{user.Id}/unban")).AssertOkJsonAsync();
            var signedIn = await _app.LoginAsync(user.Email);
            using var client = _app.WithToken(signedIn.Token);
            await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        }
    }

    [Fact]
    public async Task Sign_out_all_devices_ends_every_session_including_the_current()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var current = _app.WithToken(user.Sessions[0].Token);

        var body = await (await current.Post("/v1/sessions/revoke-all")).AssertOkJsonAsync();

        Assert.Equal(3, body.GetProperty("revoked").GetInt32());
        foreach (var session in user.Sessions)
        {
            using var client = _app.WithToken(session.Token);
            var problem = await (await client.Get("/v1/sessions")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("signed_out_all_devices", problem.Str("reason"));
        }

        // Signing out everywhere is not a lock-out.
        await _app.LoginAsync(user.Email);
    }

    [Fact]
    public async Task A_password_change_keeps_the_current_session_and_ends_the_others()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        using var current = _app.WithToken(user.Sessions[1].Token);

        Assert.Equal(HttpStatusCode.NoContent,
            (await current.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = "a-fresh-password-8" })).StatusCode);

        var left = (await (await current.Get("/v1/sessions")).AssertOkJsonAsync()).Items("sessions");
        Assert.Equal(user.Sessions[1].SessionId, Assert.Single(left).Id());
        foreach (var other in new[] { user.Sessions[0], user.Sessions[2] })
        {
            using var client = _app.WithToken(other.Token);
            var problem = await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
            Assert.Equal("password_changed", problem.Str("reason"));
        }
    }

    [Fact]
    public async Task A_user_can_neither_see_nor_end_another_users_sessions()
    {
        var alice = await _app.NewUserAsync(sessions: 1);
        var bob = await _app.NewUserAsync(sessions: 2);
        using var aliceClient = _app.WithToken(alice.Token);

        var aliceSees = (await (await aliceClient.Get("/v1/sessions")).AssertOkJsonAsync()).Items("sessions").Select(s => s.Id()).ToList();
        Assert.Equal([alice.Session.SessionId], aliceSees);

        foreach (var bobSession in bob.Sessions)
        {
            await (await aliceClient.Delete($"/v1/sessions/{bobSession.SessionId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        }

        await (await aliceClient.Get($"/v1/admin/users/{bob.Id}/sessions")).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await aliceClient.Post("/v1/sessions/revoke-others")).AssertOkJsonAsync();
        await (await aliceClient.Post("/v1/sessions/revoke-all")).AssertOkJsonAsync();

        foreach (var bobSession in bob.Sessions)
        {
            using var bobClient = _app.WithToken(bobSession.Token);
            await (await bobClient.Get("/v1/auth/session")).AssertOkJsonAsync();
        }

        using var bobFirst = _app.WithToken(bob.Sessions[0].Token);
        Assert.Equal(2, (await (await bobFirst.Get("/v1/sessions")).AssertOkJsonAsync()).Items("sessions").Count);
    }

    [Fact]
    public async Task Deleting_a_user_ends_their_sessions_and_their_login()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();

        var body = await (await admin.Delete($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();

        Assert.Equal(2, body.GetProperty("revokedSessions").GetInt32());
        foreach (var session in user.Sessions)
        {
            using var client = _app.WithToken(session.Token);
            await (await client.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "account_deleted");
        }

        using var anonymous = _app.Anonymous();
        var login = await anonymous.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password });
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);

        // Nor can a reset bring the account back.
        Assert.Equal(HttpStatusCode.Accepted, (await anonymous.Post("/v1/auth/password/reset-request", new { email = user.Email })).StatusCode);
        Assert.Null(await _app.ReadResetTokenAsync(user.Email));
    }

    [Fact]
    public async Task A_reset_token_sent_before_a_deletion_cannot_be_used_after_it()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var anonymous = _app.Anonymous();
        await anonymous.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var token = await _app.ReadResetTokenAsync(user.Email);
        using var admin = await _app.AdminAsync();
        await (await admin.Delete($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync();

        var reset = await anonymous.Post("/v1/auth/password/reset", new { token, newPassword = "back-from-the-dead-1" });

        await reset.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_reset_token");
    }

    [Fact]
    public async Task A_deactivated_user_who_resets_their_password_is_still_deactivated()
    {
        var user = await _app.NewUserAsync(sessions: 0);
        using var admin = await _app.AdminAsync();
        await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate")).AssertOkJsonAsync();
        using var anonymous = _app.Anonymous();
        await anonymous.Post("/v1/auth/password/reset-request", new { email = user.Email });
        var token = await _app.ReadResetTokenAsync(user.Email);
        if (token is not null)
        {
            await anonymous.Post("/v1/auth/password/reset", new { token, newPassword = "sneaky-new-password-1" });
        }

        var login = await anonymous.Post("/v1/auth/login", new { email = user.Email, password = "sneaky-new-password-1" });

        Assert.True(login.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized, $"{(int)login.StatusCode}");
    }
}
