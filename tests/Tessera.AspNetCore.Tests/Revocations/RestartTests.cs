using System.Net;
using System.Net.Http.Json;
using Tessera.AspNetCore.Tests.Authentication;
using Tessera.AspNetCore.Tests.Infrastructure;
using Tessera.Testing;

namespace Tessera.AspNetCore.Tests.Revocations;

/// <summary>
/// Tessera stopped and started again on the same address and database: while it is down the app answers 503 (never a
/// stale yes), and once it is back the app's stream resumes, is reset (another log), and revocations reach it again.
/// </summary>
public sealed class RestartTests : IAsyncDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "tessera-aspnetcore-tests", Guid.NewGuid().ToString("N"));

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task While_Tessera_is_down_requests_get_503_and_after_its_restart_the_app_follows_it_again()
    {
        var port = FreePort();
        var first = Start(port);
        var adminToken = await LoginAsync(first, LoopbackTesseraServer.AdminEmail, LoopbackTesseraServer.AdminPassword);
        var (clientId, secret) = await CreateClientAsync(first, adminToken);
        var email = $"u{Guid.NewGuid():N}@example.test";
        using (var anonymous = first.Api())
        {
            Assert.Equal(HttpStatusCode.Created, (await anonymous.PostAsJsonAsync("/v1/auth/register", new { email, password = LoopbackTesseraServer.Password }, Cancellation)).StatusCode);
        }

        var token = await LoginAsync(first, email, LoopbackTesseraServer.Password);
        await using var app = await RelyingApp.StartAsync(new Uri(first.BaseUrl), clientId, secret);
        await app.LeaseAsync();
        using var client = app.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        var connections = app.Calls["/v1/revocations"];

        await first.DisposeAsync();
        await Eventually.TrueAsync(() => !app.Authority.Cache.LeaseHolds, "the lease runs out with Tessera gone");
        await AuthenticationTests.AssertProblemAsync(await client.GetAsync("/api/me", Cancellation), HttpStatusCode.ServiceUnavailable, "authority_unavailable");

        await using var second = Start(port);
        await app.LeaseAsync();
        Assert.True(app.Calls["/v1/revocations"] > connections);
        Assert.NotNull(app.Calls.LastEventIdSent);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        using var socket = await app.OpenFeedAsync(token);
        Assert.Equal("tick", await SessionEndTests.ReceiveTextAsync(socket));

        using (var admin = second.Api(adminToken))
        {
            var users = await RealTessera.Json(await admin.GetAsync($"/v1/admin/users?search={Uri.EscapeDataString(email)}", Cancellation));
            var userId = users.GetProperty("users")[0].GetProperty("id").GetString();
            Assert.True((await admin.PostAsync($"/v1/admin/users/{userId}/deactivate", null, Cancellation)).IsSuccessStatusCode);
        }

        var problem = await AuthenticationTests.AssertProblemAsync(await client.GetAsync("/api/me", Cancellation), HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("user_deactivated", problem.GetProperty("reason").GetString());
        Assert.Equal((TesseraDefaults.SessionEndedCloseStatus, "user_deactivated"), await SessionEndTests.ReceiveCloseAsync(socket));
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing was written.
        }

        return ValueTask.CompletedTask;
    }

    private FixedPortTessera Start(int port)
    {
        var server = new FixedPortTessera(port, _dataDirectory);
        server.Start();
        return server;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<string> LoginAsync(LoopbackTesseraServer server, string email, string password)
    {
        using var client = server.Api();
        return (await RealTessera.Json(await client.PostAsJsonAsync("/v1/auth/login", new { email, password }, Cancellation))).GetProperty("token").GetString()!;
    }

    private static async Task<(string, string)> CreateClientAsync(LoopbackTesseraServer server, string adminToken)
    {
        using var admin = server.Api(adminToken);
        var body = await RealTessera.Json(await admin.PostAsJsonAsync("/v1/admin/clients", new { name = "Portal", scopes = new[] { "introspect", "revocations" } }, Cancellation), HttpStatusCode.Created);
        return (body.GetProperty("client").GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!);
    }

    /// <summary>Tessera on a port chosen by the test, on a data directory that outlives it.</summary>
    private sealed class FixedPortTessera : LoopbackTesseraServer
    {
        public FixedPortTessera(int port, string dataDirectory)
            : base(new Dictionary<string, string?>
            {
                ["Tessera:DataDirectory"] = dataDirectory,
            }) => UseKestrel(port);
    }
}
