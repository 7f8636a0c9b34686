using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Tessera.Testing;
using Xunit;

namespace Tessera.Samples.Desktop.Tests;

/// <summary>What the other devices and the admin do, straight over the HTTP API (not through the library under test).</summary>
internal sealed class TesseraApi(LoopbackTesseraServer server)
{
    public const string PhoneUserAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

    public async Task<string> RegisterAsync(string displayName)
    {
        var email = $"{displayName.ToLowerInvariant()}-{Guid.NewGuid().ToString("N")[..8]}@example.com";
        using var api = server.Api();
        using var response = await api.PostAsJsonAsync("/v1/auth/register", new { email, password = LoopbackTesseraServer.Password, displayName }, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return email;
    }

    /// <summary>Signs in as a phone's browser would: the server reads "Mobile Safari on iOS" from the User-Agent.</summary>
    public async Task<string> SignInPhoneAsync(string email) => await SignInAsync(email, LoopbackTesseraServer.Password, PhoneUserAgent);

    public async Task<string> SignInAsync(string email, string password, string? userAgent = null)
    {
        using var api = server.Api();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/login") { Content = JsonContent.Create(new { email, password }) };
        if (userAgent is not null)
        {
            request.Headers.UserAgent.ParseAdd(userAgent);
        }

        using var response = await api.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return body.RootElement.GetProperty("token").GetString()!;
    }

    public async Task<JsonElement[]> SessionsAsync(string token)
    {
        using var api = server.Api(token);
        using var response = await api.GetAsync("/v1/sessions", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return [.. body.RootElement.GetProperty("sessions").EnumerateArray().Select(session => session.Clone())];
    }

    /// <summary>GET /v1/auth/session with <paramref name="token"/>: 200, or the 401's reason.</summary>
    public async Task<(HttpStatusCode Status, string? Reason)> WhoAmIAsync(string token)
    {
        using var api = server.Api(token);
        using var response = await api.GetAsync("/v1/auth/session", Ct);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            return (response.StatusCode, null);
        }

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return (response.StatusCode, body.RootElement.TryGetProperty("reason", out var reason) ? reason.GetString() : null);
    }

    public async Task PostAsync(string token, string path, object? body = null)
    {
        using var api = server.Api(token);
        using var response = await api.PostAsync(path, body is null ? null : JsonContent.Create(body), Ct);
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
    }

    public async Task DeleteAsync(string token, string path)
    {
        using var api = server.Api(token);
        using var response = await api.DeleteAsync(path, Ct);
        Assert.True(response.IsSuccessStatusCode, $"DELETE {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
    }

    public async Task<string> UserIdAsync(string token)
    {
        using var api = server.Api(token);
        using var body = JsonDocument.Parse(await api.GetStringAsync("/v1/auth/session", Ct));
        return body.RootElement.GetProperty("user").GetProperty("id").GetString()!;
    }

    public Task<string> AdminTokenAsync() => SignInAsync(LoopbackTesseraServer.AdminEmail, LoopbackTesseraServer.AdminPassword);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;
}
