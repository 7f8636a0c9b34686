using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Clients;

/// <summary>
/// Sign-ins as a relying app's server makes them for the visitors of its own form: <c>POST /v1/auth/login</c> from the
/// app's address, with its client's HTTP Basic credentials and the visitor in the body.
/// </summary>
public static class VisitorLogins
{
    /// <summary>The address of the relying app's server, which every one of its calls comes from.</summary>
    public const string PortalServerIp = "192.0.2.50";

    public const string IPhoneSafari =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

    public const string WindowsChrome =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    /// <summary>The login as the app's server sends it (its own User-Agent, its own address); the answer as it comes.</summary>
    public static async Task<HttpResponseMessage> LoginAsync(TesseraApp app, string? authorization, object body, string serverIp = PortalServerIp)
    {
        using var client = app.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/login") { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation("User-Agent", "portal-backend/3.2 (+https://portal.example)");
        request.Headers.Add(TesseraApp.ClientIpHeader, serverIp);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        var response = await client.Submit(request);
        await response.Content.LoadIntoBufferAsync(TestContext.Current.CancellationToken);
        return response;
    }

    /// <summary>A visitor's successful sign-in through the client; the answer's body.</summary>
    public static async Task<JsonElement> SignInVisitorAsync(
        TesseraApp app, string clientId, string secret, string email, string visitorIp, string? userAgent = IPhoneSafari, object? device = null) =>
        await (await LoginAsync(app, OAuthRequests.Basic(clientId, secret),
            new { email, password = TesseraApp.Password, device, visitor = new { ipAddress = visitorIp, userAgent } })).AssertOkJsonAsync();

    /// <summary>An HTML page that answered 200; its text.</summary>
    public static async Task<string> AssertHtmlAsync(this HttpResponseMessage response)
    {
        var text = await response.ReadTextAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {text}");
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        return text;
    }

    /// <summary>Creates a client named <paramref name="name"/> with <paramref name="scopes"/> as the bootstrap admin.</summary>
    public static async Task<(string Id, string Secret)> CreateClientAsync(TesseraApp app, string name, params string[] scopes)
    {
        using var admin = await app.AdminAsync();
        var created = await (await admin.Post("/v1/admin/clients", new { name, scopes })).AssertOkJsonAsync(HttpStatusCode.Created);
        return (created.GetProperty("client").Id(), created.Str("secret"));
    }
}
