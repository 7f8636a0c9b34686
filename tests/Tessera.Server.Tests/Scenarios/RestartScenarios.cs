using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Scenarios;

/// <summary>Sessions and decisions live in the store, not in the process: they survive a restart.</summary>
public sealed class RestartScenarios
{
    [Fact]
    public async Task Sessions_users_and_revocations_survive_a_restart()
    {
        var first = new TesseraApp();
        TestUser user;
        TestUser banned;
        try
        {
            user = await first.NewUserAsync(sessions: 2);
            banned = await first.NewUserAsync(sessions: 1);
            using var client = first.WithToken(user.Sessions[0].Token);
            await client.Delete($"/v1/sessions/{user.Sessions[1].SessionId}");
            using var admin = await first.AdminAsync();
            await (await admin.Post($"/v1/admin/users/{banned.Id}/ban")).AssertOkJsonAsync();
        }
        finally
        {
            await first.StopAsync();
        }

        await using var second = new TesseraApp(dataDirectory: first.DataDirectory);

        using var kept = second.WithToken(user.Sessions[0].Token);
        await (await kept.Get("/v1/auth/session")).AssertOkJsonAsync();
        using var ended = second.WithToken(user.Sessions[1].Token);
        var problem = await (await ended.Get("/v1/auth/session")).AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("revoked_by_user", problem.Str("reason"));
        using var anonymous = second.Anonymous();
        await (await anonymous.Post("/v1/auth/login", new { email = banned.Email, password = TesseraApp.Password }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "account_banned");
        await second.LoginAsync(user.Email);
    }

    [Fact]
    public async Task A_restart_does_not_create_a_second_bootstrap_admin_or_reset_its_password()
    {
        var first = new TesseraApp();
        try
        {
            var admin = await first.LoginAdminAsync();
            using var client = first.WithToken(admin.Token);
            Assert.Equal(HttpStatusCode.NoContent,
                (await client.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.AdminPassword, newPassword = "rotated-admin-password-1" })).StatusCode);
        }
        finally
        {
            await first.StopAsync();
        }

        await using var second = new TesseraApp(dataDirectory: first.DataDirectory);

        using var anonymous = second.Anonymous();
        await (await anonymous.Post("/v1/auth/login", new { email = TesseraApp.AdminEmail, password = TesseraApp.AdminPassword }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        var admin2 = await second.LoginAsync(TesseraApp.AdminEmail, "rotated-admin-password-1");
        using var adminClient = second.WithToken(admin2.Token);
        var admins = (await (await adminClient.Get($"/v1/admin/users?search={Uri.EscapeDataString(TesseraApp.AdminEmail)}")).AssertOkJsonAsync()).Items("users");
        Assert.Single(admins);
    }

    [Fact]
    public async Task Last_activity_written_behind_is_kept_across_a_restart()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var first = new TesseraApp(clock);
        TestUser user;
        try
        {
            user = await first.NewUserAsync(sessions: 1);
            clock.Advance(TimeSpan.FromDays(5));
            using var client = first.WithToken(user.Token);
            await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        }
        finally
        {
            await first.StopAsync();
        }

        // Five more days: past the idle timeout counted from sign-in, not from the last activity.
        clock.Advance(TimeSpan.FromDays(5));
        await using var second = new TesseraApp(clock, dataDirectory: first.DataDirectory);

        using var again = second.WithToken(user.Token);
        await (await again.Get("/v1/auth/session")).AssertOkJsonAsync();
    }
}
