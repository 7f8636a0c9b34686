using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Admin;

/// <summary>
/// One admin against another: deactivating, banning or deleting an admin needs a recent sign-in, and the bootstrap
/// admin, once deleted, stays deleted.
/// </summary>
public sealed class AdminAgainstAdminTests
{
    [Theory]
    [InlineData("POST", "deactivate")]
    [InlineData("POST", "ban")]
    [InlineData("DELETE", "")]
    public async Task An_admin_whose_sign_in_is_not_recent_must_sign_in_again_to_act_against_another_admin(string method, string action)
    {
        await using var staleAdmin = await StaleAdmin.StartAsync();
        var (app, admin, other, otherEmail, user) = (staleAdmin.App, staleAdmin.Client, staleAdmin.OtherId, staleAdmin.OtherEmail, staleAdmin.User);

        var refused = await admin.Submit(Decision(method, other, action));

        var problem = await refused.AssertProblemAsync(HttpStatusCode.Forbidden, "reauthentication_required");
        Assert.False(string.IsNullOrWhiteSpace(problem.Str("detail")));
        using (var check = app.WithToken((await app.LoginAsync(otherEmail)).Token))
        {
            await (await check.Get("/v1/auth/session")).AssertOkJsonAsync();
        }

        // Other users are not admins: the old session still may.
        await (await admin.Submit(Decision(method, user.Id, action))).AssertOkJsonAsync();

        // A new sign-in may, for a while.
        using var again = await app.AdminAsync();
        await (await again.Submit(Decision(method, other, action))).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_bulk_action_refuses_each_admin_with_reauthentication_required_and_does_the_rest()
    {
        await using var staleAdmin = await StaleAdmin.StartAsync();
        var (admin, other, user) = (staleAdmin.Client, staleAdmin.OtherId, staleAdmin.User);

        var body = await (await admin.Post("/v1/admin/users/bulk", new { action = "ban", userIds = new[] { other, user.Id } })).AssertOkJsonAsync();

        var results = body.GetProperty("results");
        Assert.False(results[0].GetProperty("ok").GetBoolean());
        Assert.Equal("reauthentication_required", results[0].Str("code"));
        Assert.True(results[1].GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task A_deleted_bootstrap_admin_is_not_created_again_at_the_next_start()
    {
        var first = new TesseraApp();
        try
        {
            var bootstrapId = await first.AdminIdAsync();
            var (_, otherEmail) = await NewAdminAsync(first);
            using var otherAdmin = first.WithToken((await first.LoginAsync(otherEmail)).Token);
            await (await otherAdmin.Delete($"/v1/admin/users/{bootstrapId}")).AssertOkJsonAsync();
        }
        finally
        {
            await first.StopAsync();
        }

        await using var second = new TesseraApp(dataDirectory: first.DataDirectory);
        using var anonymous = second.Anonymous();

        var login = await anonymous.Post("/v1/auth/login", new { email = TesseraApp.AdminEmail, password = TesseraApp.AdminPassword });

        await login.AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    /// <summary>A second admin: registered, then promoted in the database (the API has no way to make admins).</summary>
    private static async Task<(string Id, string Email)> NewAdminAsync(TesseraApp app)
    {
        var email = TesseraApp.NewEmail("admin");
        var id = await app.RegisterAsync(email);
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = app.DatabasePath, Pooling = false }.ToString()))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE users SET role = 'admin' WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            Assert.Equal(1, await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        return (id, email);
    }

    /// <summary>An app with a second admin and a user, and the bootstrap admin signed in 16 minutes ago.</summary>
    private sealed class StaleAdmin : IAsyncDisposable
    {
        private StaleAdmin(TesseraApp app, HttpClient client, (string Id, string Email) other, TestUser user) =>
            (App, Client, OtherId, OtherEmail, User) = (app, client, other.Id, other.Email, user);

        public TesseraApp App { get; }

        public HttpClient Client { get; }

        public string OtherId { get; }

        public string OtherEmail { get; }

        public TestUser User { get; }

        public static async Task<StaleAdmin> StartAsync()
        {
            var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var app = new TesseraApp(clock);
            var other = await NewAdminAsync(app);
            var user = await app.NewUserAsync(sessions: 0);
            var client = await app.AdminAsync();
            clock.Advance(TimeSpan.FromMinutes(16));
            return new StaleAdmin(app, client, other, user);
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.DisposeAsync();
        }
    }

    private static HttpRequestMessage Decision(string method, string userId, string action) =>
        method == "DELETE"
            ? new HttpRequestMessage(HttpMethod.Delete, $"/v1/admin/users/{userId}")
            : new HttpRequestMessage(HttpMethod.Post, $"/v1/admin/users/{userId}/{action}");
}
