using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

/// <summary>A refused request leaves no trace: no user, no session, no audit event. Own app, so counts are exact.</summary>
public sealed class NoPartialWriteTests : IAsyncLifetime
{
    private readonly TesseraApp _app = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task A_refused_registration_writes_no_user_and_no_audit_event()
    {
        var taken = TesseraApp.NewEmail("taken");
        await _app.RegisterAsync(taken);
        using var admin = await _app.AdminAsync();
        var usersBefore = await TotalUsersAsync(admin);
        var eventsBefore = await AuditCountAsync(admin);
        using var client = _app.Anonymous();

        await (await client.Post("/v1/auth/register", new { email = "bad-email", password = TesseraApp.Password })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await client.Post("/v1/auth/register", new { email = TesseraApp.NewEmail(), password = "weak" })).AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");
        await (await client.Post("/v1/auth/register", new { email = taken.ToUpperInvariant(), password = TesseraApp.Password })).AssertProblemAsync(HttpStatusCode.Conflict, "email_taken");
        await (await client.PostRaw("/v1/auth/register", """{"email": 5}""")).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");

        Assert.Equal(usersBefore, await TotalUsersAsync(admin));
        Assert.Equal(eventsBefore, await AuditCountAsync(admin));
    }

    [Fact]
    public async Task Refused_admin_actions_write_nothing()
    {
        var user = await _app.NewUserAsync(sessions: 1);
        var adminSession = await _app.LoginAdminAsync();
        using var admin = _app.WithToken(adminSession.Token);
        var eventsBefore = await AuditCountAsync(admin);

        await (await admin.Post($"/v1/admin/users/{user.Id}/ban", new { until = DateTimeOffset.UtcNow.AddDays(-1) })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post($"/v1/admin/users/{user.Id}/deactivate", new { reason = new string('x', 10_000) })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post($"/v1/admin/users/{adminSession.UserId}/ban")).AssertProblemAsync(HttpStatusCode.BadRequest, "cannot_target_self");
        await (await admin.Post("/v1/admin/users/bulk", new { action = "explode", userIds = new[] { user.Id } })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post("/v1/admin/users/bulk", new { action = "ban", userIds = new[] { user.Id }, until = DateTimeOffset.UtcNow.AddDays(-1) })).AssertProblemAsync(HttpStatusCode.BadRequest, "validation_failed");
        await (await admin.Post("/v1/admin/users/usr_00000000000000000000000000000000/deactivate")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");

        Assert.Equal(eventsBefore, await AuditCountAsync(admin));
        using var client = _app.WithToken(user.Token);
        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        var fetched = (await (await admin.Get($"/v1/admin/users/{user.Id}")).AssertOkJsonAsync()).GetProperty("user");
        Assert.Equal("active", fetched.Str("status"));
        Assert.False(fetched.GetProperty("banned").GetBoolean());
    }

    [Fact]
    public async Task A_refused_password_change_or_reset_writes_nothing()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var admin = await _app.AdminAsync();
        var eventsBefore = await AuditCountAsync(admin);
        using var client = _app.WithToken(user.Sessions[0].Token);
        using var anonymous = _app.Anonymous();

        await (await client.Post("/v1/auth/password/change", new { currentPassword = "wrong-password-1", newPassword = "new-password-99" })).AssertProblemAsync(HttpStatusCode.BadRequest, "wrong_password");
        await (await client.Post("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = "x" })).AssertProblemAsync(HttpStatusCode.BadRequest, "weak_password");
        await (await anonymous.Post("/v1/auth/password/reset", new { token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", newPassword = "new-password-99" })).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_reset_token");

        Assert.Equal(eventsBefore, await AuditCountAsync(admin));
        using var other = _app.WithToken(user.Sessions[1].Token);
        await (await other.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    private static async Task<int> TotalUsersAsync(HttpClient admin) =>
        (await (await admin.Get("/v1/admin/users")).AssertOkJsonAsync()).GetProperty("total").GetInt32();

    // Reading the audit log through the API: only the session.created of the admin's own sign-in differs, and
    // that happens before the first count.
    private static async Task<int> AuditCountAsync(HttpClient admin) =>
        (await (await admin.Get("/v1/admin/audit?limit=1000")).AssertOkJsonAsync()).Items("events").Count;
}
