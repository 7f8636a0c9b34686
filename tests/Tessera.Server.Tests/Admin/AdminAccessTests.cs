using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Admin;

/// <summary>Every admin endpoint checks the session and the role on the server.</summary>
public sealed class AdminAccessTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private const string SomeUser = "usr_00000000000000000000000000000000";
    private const string SomeSession = "ses_00000000000000000000000000000000";

    private readonly TesseraApp _app = shared.App;

    public static TheoryData<string, string> Endpoints => new()
    {
        { "GET", "/v1/admin/users" },
        { "GET", "/v1/admin/users?search=a&status=active&page=1&pageSize=10" },
        { "GET", $"/v1/admin/users/{SomeUser}" },
        { "GET", $"/v1/admin/users/{SomeUser}/sessions" },
        { "DELETE", $"/v1/admin/users/{SomeUser}/sessions" },
        { "DELETE", $"/v1/admin/users/{SomeUser}/sessions/{SomeSession}" },
        { "POST", $"/v1/admin/users/{SomeUser}/deactivate" },
        { "POST", $"/v1/admin/users/{SomeUser}/reactivate" },
        { "POST", $"/v1/admin/users/{SomeUser}/ban" },
        { "POST", $"/v1/admin/users/{SomeUser}/unban" },
        { "DELETE", $"/v1/admin/users/{SomeUser}" },
        { "POST", "/v1/admin/users/bulk" },
        { "GET", $"/v1/admin/sessions/{SomeSession}" },
        { "DELETE", $"/v1/admin/sessions/{SomeSession}" },
        { "GET", "/v1/admin/audit" },
        { "GET", "/v1/admin/audit?limit=5" },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Without_a_session_every_admin_endpoint_gives_401_unauthenticated(string method, string path)
    {
        using var client = _app.Anonymous();

        var response = await client.Submit(Request(method, path));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task For_a_user_who_is_not_an_admin_every_admin_endpoint_gives_403_forbidden(string method, string path)
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        var response = await client.Submit(Request(method, path));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task A_non_admin_cannot_use_an_admin_endpoint_on_another_user()
    {
        var user = await _app.NewUserAsync();
        var victim = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);

        await (await client.Post($"/v1/admin/users/{victim.Id}/deactivate", new { reason = "mine now" })).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await client.Delete($"/v1/admin/users/{victim.Id}/sessions")).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await client.Post("/v1/admin/users/bulk", new { action = "delete", userIds = new[] { victim.Id } })).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");

        using var victimClient = _app.WithToken(victim.Token);
        await (await victimClient.Get("/v1/auth/session")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task A_revoked_admin_session_gets_401_not_403()
    {
        var admin = await _app.LoginAdminAsync();
        using var client = _app.WithToken(admin.Token);
        await client.Post("/v1/auth/logout");

        var response = await client.Get("/v1/admin/users");

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "session_revoked");
    }

    private static HttpRequestMessage Request(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("""{"action": "deactivate", "userIds": ["usr_00000000000000000000000000000000"]}""", System.Text.Encoding.UTF8, "application/json");
        }

        return request;
    }
}
