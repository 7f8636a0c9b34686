using System.Net;
using System.Net.WebSockets;
using Tessera.AspNetCore.Tests.Authentication;
using Tessera.AspNetCore.Tests.Infrastructure;
using Tessera.Testing;

namespace Tessera.AspNetCore.Tests.Revocations;

/// <summary>
/// Every way a session ends at Tessera: when the call that ends it returns, the app's next request is refused with the
/// reason, and the app's open WebSocket of that session is closed with 4001 and the reason.
/// </summary>
public sealed class SessionEndTests(RealTessera tessera) : IClassFixture<RealTessera>, IAsyncLifetime
{
    private RelyingApp _app = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _app = await RelyingApp.StartAsync(tessera.Authority, tessera.ClientId, tessera.ClientSecret);
        await _app.LeaseAsync();
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    public static TheoryData<string> Causes => ["ban", "deactivate", "delete", "password_change", "sign_out_all", "revoke_one", "oauth2_revoke", "logout", "admin_revoke"];

    [Theory]
    [MemberData(nameof(Causes))]
    public async Task The_next_request_is_refused_with_the_reason_and_the_WebSocket_closes_with_it(string cause)
    {
        var (email, userId) = await tessera.NewUserAsync();
        var token = await tessera.LoginAsync(email);
        var other = await tessera.LoginAsync(email);
        var sessionId = await tessera.SessionIdAsync(token);
        using var client = _app.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        using var socket = await _app.OpenFeedAsync(token);
        Assert.Equal("tick", await ReceiveTextAsync(socket));

        var reason = await EndAsync(cause, userId, token, other, sessionId);

        var problem = await AuthenticationTests.AssertProblemAsync(await client.GetAsync("/api/me", Cancellation), HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal(reason, problem.GetProperty("reason").GetString());
        var (status, description) = await ReceiveCloseAsync(socket);
        Assert.Equal(TesseraDefaults.SessionEndedCloseStatus, status);
        Assert.Equal(reason, description);
    }

    [Fact]
    public async Task An_SSE_stream_of_the_app_just_ends_when_its_session_ends()
    {
        var (email, userId) = await tessera.NewUserAsync();
        var token = await tessera.LoginAsync(email);
        using var client = _app.Client(token);
        using var response = await client.GetAsync("/sse", HttpCompletionOption.ResponseHeadersRead, Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
        Assert.Equal("event: ready", await reader.ReadLineAsync(Cancellation));

        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/deactivate");

        var rest = await reader.ReadToEndAsync(Cancellation).WaitAsync(TimeSpan.FromSeconds(10), Cancellation);
        Assert.Equal("data: {}\n\n", rest.Replace("\r", "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Other_users_and_other_sessions_of_the_same_user_are_left_alone()
    {
        var (email, _) = await tessera.NewUserAsync();
        var (otherEmail, _) = await tessera.NewUserAsync();
        var ended = await tessera.LoginAsync(email);
        var kept = await tessera.LoginAsync(email);
        var stranger = await tessera.LoginAsync(otherEmail);
        using var keptSocket = await _app.OpenFeedAsync(kept);
        using var strangerSocket = await _app.OpenFeedAsync(stranger);
        Assert.Equal("tick", await ReceiveTextAsync(keptSocket));
        Assert.Equal("tick", await ReceiveTextAsync(strangerSocket));

        using var client = _app.Client(ended);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);

        await tessera.AsUserAsync(ended, HttpMethod.Post, "/v1/auth/logout");

        await AuthenticationTests.AssertProblemAsync(await client.GetAsync("/api/me", Cancellation), HttpStatusCode.Unauthorized, "session_revoked");
        // Both keep ticking: a second tick after the logout arrives on each.
        Assert.Equal("tick", await ReceiveTextAsync(keptSocket));
        Assert.Equal("tick", await ReceiveTextAsync(strangerSocket));
        using var keptClient = _app.Client(kept);
        Assert.Equal(HttpStatusCode.OK, (await keptClient.GetAsync("/api/me", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task A_user_changed_straight_in_the_database_is_re_checked_and_the_WebSocket_closes()
    {
        var (email, _) = await tessera.NewUserAsync();
        var token = await tessera.LoginAsync(email);
        using var client = _app.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        using var socket = await _app.OpenFeedAsync(token);
        Assert.Equal("tick", await ReceiveTextAsync(socket));

        // An operator's UPDATE: Tessera announces the user changed, naming no session; the app asks again.
        // As the operator's console does: the sqlite3 shell, another process (test.sh installs it).
        var sqlite3 = new System.Diagnostics.ProcessStartInfo("sqlite3") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-bail", "-cmd", ".timeout 5000", Path.Combine(tessera.Server.DataDirectory, "tessera.db"),
            $"UPDATE users SET status = 'deactivated' WHERE email = '{email}'" })
        {
            sqlite3.ArgumentList.Add(argument);
        }

        using (var process = System.Diagnostics.Process.Start(sqlite3)!)
        {
            var error = process.StandardError.ReadToEndAsync(Cancellation);
            await process.WaitForExitAsync(Cancellation);
            Assert.True(process.ExitCode == 0, await error);
        }

        var (status, description) = await ReceiveCloseAsync(socket);
        Assert.Equal(TesseraDefaults.SessionEndedCloseStatus, status);
        Assert.Contains(description, new[] { TesseraSession.UnknownEndReason, "user_deactivated" });
        await Eventually.TrueAsync(async () => (await client.GetAsync("/api/me", Cancellation)).StatusCode == HttpStatusCode.Unauthorized,
            "the app refuses the session of a user deactivated in the database");
    }

    private async Task<string> EndAsync(string cause, string userId, string token, string other, string sessionId)
    {
        switch (cause)
        {
            case "ban":
                await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban", new { reason = "spam" });
                return "user_banned";
            case "deactivate":
                await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/deactivate");
                return "user_deactivated";
            case "delete":
                await tessera.AdminAsync(HttpMethod.Delete, $"/v1/admin/users/{userId}");
                return "user_deleted";
            case "password_change":
                await tessera.AsUserAsync(other, HttpMethod.Post, "/v1/auth/password/change",
                    new { currentPassword = LoopbackTesseraServer.Password, newPassword = "a-new-and-long-passphrase-7" });
                return "password_changed";
            case "sign_out_all":
                await tessera.AsUserAsync(other, HttpMethod.Post, "/v1/sessions/revoke-all");
                return "signed_out_all_devices";
            case "revoke_one":
                await tessera.AsUserAsync(other, HttpMethod.Delete, $"/v1/sessions/{sessionId}");
                return "revoked_by_user";
            case "oauth2_revoke":
                await tessera.RevokeTokenAsync(token);
                return "token_revoked";
            case "logout":
                await tessera.AsUserAsync(token, HttpMethod.Post, "/v1/auth/logout");
                return "signed_out";
            case "admin_revoke":
                await tessera.AdminAsync(HttpMethod.Delete, $"/v1/admin/users/{userId}/sessions/{sessionId}");
                return "revoked_by_admin";
            default:
                throw new ArgumentOutOfRangeException(nameof(cause), cause, null);
        }
    }

    internal static async Task<string> ReceiveTextAsync(ClientWebSocket socket)
    {
        var buffer = new byte[256];
        var result = await socket.ReceiveAsync(buffer, Cancellation).WaitAsync(TimeSpan.FromSeconds(10), Cancellation);
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    /// <summary>Reads (skipping ticks) until the server's close frame; its status and description.</summary>
    internal static async Task<(int Status, string? Description)> ReceiveCloseAsync(ClientWebSocket socket)
    {
        var buffer = new byte[256];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, Cancellation).WaitAsync(TimeSpan.FromSeconds(10), Cancellation);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return ((int)result.CloseStatus!.Value, result.CloseStatusDescription);
            }
        }
    }
}
