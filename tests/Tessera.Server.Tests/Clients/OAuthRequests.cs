using System.Net;
using System.Text;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Clients;

/// <summary>Requests to /oauth2 as a service client makes them, and the RFC 6749 error answers they may get.</summary>
public static class OAuthRequests
{
    public static async Task<HttpResponseMessage> SendAsync(
        TesseraApp app, string path, IEnumerable<KeyValuePair<string, string>> form, string? authorization, string? clientIp)
    {
        using var client = app.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        if (clientIp is not null)
        {
            request.Headers.Add(TesseraApp.ClientIpHeader, clientIp);
        }

        var response = await client.Submit(request);
        await response.Content.LoadIntoBufferAsync(TestContext.Current.CancellationToken);
        return response;
    }

    /// <summary>RFC 6749 §2.3.1: id and secret form-urlencoded, then joined and Base64-encoded.</summary>
    public static string Basic(string clientId, string secret) =>
        "Basic " + B64($"{WebUtility.UrlEncode(clientId)}:{WebUtility.UrlEncode(secret)}");

    public static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    public static async Task<JsonElement> AssertOAuthErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var text = await response.ReadTextAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status} {error}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal(error, body.Str("error"));
        Assert.False(body.TryGetProperty("code", out _), "an /oauth2 error is not a problem");
        Assert.Contains("no-store", response.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
        return body;
    }

    /// <summary>Creates a client with <paramref name="scopes"/> as the bootstrap admin; its id and the secret shown once.</summary>
    public static async Task<(string Id, string Secret)> CreateClientAsync(TesseraApp app, params string[] scopes)
    {
        using var admin = await app.AdminAsync();
        var created = await (await admin.Post("/v1/admin/clients", new { name = "Relying app", scopes })).AssertOkJsonAsync(HttpStatusCode.Created);
        return (created.GetProperty("client").Id(), created.Str("secret"));
    }
}
