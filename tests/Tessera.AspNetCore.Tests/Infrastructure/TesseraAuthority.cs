using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tessera.Testing;

namespace Tessera.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A real Tessera server on a loopback port with a service client for relying apps (scopes introspect, revocations,
/// revoke, login), and the calls a test makes as a user or an admin.
/// </summary>
public sealed class RealTessera : IAsyncLifetime
{
    public LoopbackTesseraServer Server { get; } = new();

    public string ClientId { get; private set; } = string.Empty;

    public string ClientSecret { get; private set; } = string.Empty;

    public string AdminToken { get; private set; } = string.Empty;

    public Uri Authority => new(Server.BaseUrl);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Server.Start();
        AdminToken = await LoginAsync(LoopbackTesseraServer.AdminEmail, LoopbackTesseraServer.AdminPassword);
        (ClientId, ClientSecret) = await CreateClientAsync("Portal", "introspect", "revocations", "revoke", "login");
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    public async Task<(string Id, string Secret)> CreateClientAsync(string name, params string[] scopes)
    {
        using var admin = Server.Api(AdminToken);
        var body = await Json(await admin.PostAsJsonAsync("/v1/admin/clients", new { name, scopes }, Cancellation), HttpStatusCode.Created);
        return (body.GetProperty("client").GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!);
    }

    /// <summary>Registers a user with <see cref="LoopbackTesseraServer.Password"/>; returns the email and the user id.</summary>
    public async Task<(string Email, string UserId)> NewUserAsync(string? displayName = null)
    {
        var email = $"u{Guid.NewGuid():N}@example.test";
        using var client = Server.Api();
        var body = await Json(await client.PostAsJsonAsync("/v1/auth/register", new { email, password = LoopbackTesseraServer.Password, displayName }, Cancellation), HttpStatusCode.Created);
        return (email, body.GetProperty("user").GetProperty("id").GetString()!);
    }

    /// <summary>Signs in at Tessera directly, as a device named <paramref name="deviceName"/>; returns the token.</summary>
    public async Task<string> LoginAsync(string email, string password = LoopbackTesseraServer.Password, string? deviceName = null)
    {
        using var client = Server.Api();
        object body = deviceName is null ? new { email, password } : new { email, password, device = new { name = deviceName, platform = "desktop", os = "Linux" } };
        var answer = await Json(await client.PostAsJsonAsync("/v1/auth/login", body, Cancellation));
        return answer.GetProperty("token").GetString()!;
    }

    public async Task<string> SessionIdAsync(string token)
    {
        using var client = Server.Api(token);
        var body = await Json(await client.GetAsync("/v1/auth/session", Cancellation));
        return body.GetProperty("session").GetProperty("id").GetString()!;
    }

    /// <summary>An admin call (POST with an optional JSON body, or DELETE) that must succeed.</summary>
    public async Task AdminAsync(HttpMethod method, string path, object? body = null)
    {
        using var admin = Server.Api(AdminToken);
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        var response = await admin.SendAsync(request, Cancellation);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Cancellation)}");
    }

    /// <summary>A call with the user's own token that must succeed.</summary>
    public async Task AsUserAsync(string token, HttpMethod method, string path, object? body = null)
    {
        using var client = Server.Api(token);
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        var response = await client.SendAsync(request, Cancellation);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Cancellation)}");
    }

    /// <summary><c>POST /oauth2/revoke</c> with the app's client.</summary>
    public async Task RevokeTokenAsync(string token)
    {
        using var client = Server.Api();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/revoke")
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("token", token)]),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{ClientId}:{ClientSecret}")));
        var response = await client.SendAsync(request, Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public async Task<JsonElement> AdminGetAsync(string path)
    {
        using var admin = Server.Api(AdminToken);
        return await Json(await admin.GetAsync(path, Cancellation));
    }

    public static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
