using System.Diagnostics;
using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Scenarios;

/// <summary>
/// "My other device kept working for minutes": a connected client must learn within a second that its session
/// ended, whatever ended it, be told why, and the server must close the stream.
/// </summary>
public sealed class PushScenarios(SharedApp shared) : IClassFixture<SharedApp>
{
    private static readonly TimeSpan Promise = TimeSpan.FromSeconds(1);

    private readonly TesseraApp _app = shared.App;

    [Theory]
    [InlineData("logout", "signed_out")]
    [InlineData("delete-from-another-device", "revoked_by_user")]
    [InlineData("revoke-others", "signed_out_other_devices")]
    [InlineData("revoke-all-from-another-device", "signed_out_all_devices")]
    [InlineData("revoke-all-from-this-device", "signed_out_all_devices")]
    [InlineData("password-change", "password_changed")]
    [InlineData("password-reset", "password_reset")]
    [InlineData("admin-deactivate", "user_deactivated")]
    [InlineData("admin-ban", "user_banned")]
    [InlineData("admin-timed-ban", "user_banned")]
    [InlineData("admin-delete", "user_deleted")]
    [InlineData("admin-revoke-all", "revoked_by_admin")]
    [InlineData("admin-revoke-one", "revoked_by_admin")]
    [InlineData("admin-bulk-deactivate", "user_deactivated")]
    [InlineData("admin-bulk-revoke-sessions", "revoked_by_admin")]
    [InlineData("service-client-revoke", "token_revoked")]
    public async Task An_open_stream_hears_session_revoked_within_a_second_with_the_reason(string cause, string reason)
    {
        var user = await _app.NewUserAsync(sessions: 2);
        var watched = user.Sessions[0];
        var otherDevice = user.Sessions[1];
        using var watchedClient = _app.WithToken(watched.Token);
        using var otherClient = _app.WithToken(otherDevice.Token);
        using var admin = await _app.AdminAsync();
        string? resetToken = null;
        if (cause == "password-reset")
        {
            using var anonymous = _app.Anonymous();
            Assert.Equal(HttpStatusCode.Accepted, (await anonymous.Post("/v1/auth/password/reset-request", new { email = user.Email })).StatusCode);
            resetToken = await _app.ReadResetTokenAsync(user.Email);
        }

        var serviceClient = cause == "service-client-revoke" ? await Clients.OAuthRequests.CreateClientAsync(_app, "revoke") : default;

        await using var stream = await EventStreamClient.ConnectAsync(watchedClient);
        var clock = Stopwatch.StartNew();

        var response = cause switch
        {
            "logout" => await watchedClient.Post("/v1/auth/logout"),
            "delete-from-another-device" => await otherClient.Delete($"/v1/sessions/{watched.SessionId}"),
            "revoke-others" => await otherClient.Post("/v1/sessions/revoke-others"),
            "revoke-all-from-another-device" => await otherClient.Post("/v1/sessions/revoke-all"),
            "revoke-all-from-this-device" => await watchedClient.Post("/v1/sessions/revoke-all"),
            "password-change" => await otherClient.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = "changed-password-5" }),
            "password-reset" => await _app.Anonymous().Post("/v1/auth/password/reset", new { token = resetToken, newPassword = "reset-password-5" }),
            "admin-deactivate" => await admin.Post($"/v1/admin/users/{user.Id}/deactivate", new { reason = "test" }),
            "admin-ban" => await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "test" }),
            "admin-timed-ban" => await admin.Post($"/v1/admin/users/{user.Id}/ban", new { until = DateTimeOffset.UtcNow.AddHours(1) }),
            "admin-delete" => await admin.Delete($"/v1/admin/users/{user.Id}"),
            "admin-revoke-all" => await admin.Delete($"/v1/admin/users/{user.Id}/sessions"),
            "admin-revoke-one" => await admin.Delete($"/v1/admin/users/{user.Id}/sessions/{watched.SessionId}"),
            "admin-bulk-deactivate" => await admin.Post("/v1/admin/users/bulk", new { action = "deactivate", userIds = new[] { user.Id } }),
            "admin-bulk-revoke-sessions" => await admin.Post("/v1/admin/users/bulk", new { action = "revoke_sessions", userIds = new[] { user.Id } }),
            "service-client-revoke" => await Clients.OAuthRequests.SendAsync(_app, "/oauth2/revoke", [new("token", watched.Token)],
                Clients.OAuthRequests.Basic(serviceClient.Id, serviceClient.Secret), null),
            _ => throw new ArgumentOutOfRangeException(nameof(cause), cause, null),
        };
        Assert.True(response.IsSuccessStatusCode, $"{cause}: {(int)response.StatusCode} {await response.ReadTextAsync()}");
        var revoked = await stream.ExpectRevokedAsync(TimeSpan.FromSeconds(5));
        var elapsed = clock.Elapsed;

        Assert.True(elapsed < Promise, $"{cause}: session.revoked arrived after {elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(watched.SessionId, revoked.Str("sessionId"));
        Assert.Equal(reason, revoked.Str("reason"));
        Assert.False(string.IsNullOrWhiteSpace(revoked.Str("message")), $"{cause}: no message for the person");
        await stream.ExpectClosedAsync(TimeSpan.FromSeconds(5));

        var reconnect = await watchedClient.Get("/v1/events");
        Assert.Equal(HttpStatusCode.Unauthorized, reconnect.StatusCode);
    }

    [Fact]
    public async Task Every_device_of_a_user_hears_a_ban_at_once()
    {
        var user = await _app.NewUserAsync(sessions: 3);
        var streams = new List<EventStreamClient>();
        var clients = user.Sessions.Select(s => _app.WithToken(s.Token)).ToList();
        try
        {
            foreach (var client in clients)
            {
                streams.Add(await EventStreamClient.ConnectAsync(client));
            }

            using var admin = await _app.AdminAsync();
            var clock = Stopwatch.StartNew();
            await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { reason = "raid" })).AssertOkJsonAsync();

            var events = await Task.WhenAll(streams.Select(s => s.ExpectRevokedAsync(TimeSpan.FromSeconds(5))));
            Assert.True(clock.Elapsed < Promise, $"the last device heard after {clock.Elapsed.TotalMilliseconds:0} ms");
            Assert.All(events, e => Assert.Equal("user_banned", e.Str("reason")));
            Assert.Equal(user.Sessions.Select(s => s.SessionId).Order(StringComparer.Ordinal), events.Select(e => e.Str("sessionId")).Order(StringComparer.Ordinal));
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }

            clients.ForEach(c => c.Dispose());
        }
    }
}
