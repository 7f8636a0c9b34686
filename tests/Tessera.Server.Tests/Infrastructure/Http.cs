using System.Net.Http.Json;
using System.Text;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// Short request helpers that pass the test's cancellation token, so that test bodies read as what a client does.
/// </summary>
public static partial class Http
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static Task<HttpResponseMessage> Get(this HttpClient client, string path) => client.GetAsync(path, Cancellation);

    public static Task<HttpResponseMessage> Delete(this HttpClient client, string path) => client.DeleteAsync(path, Cancellation);

    /// <summary>POST with a JSON body, or with no body at all when <paramref name="body"/> is null.</summary>
    public static Task<HttpResponseMessage> Post(this HttpClient client, string path, object? body = null) =>
        body is null ? client.PostAsync(path, content: null, Cancellation) : client.PostAsJsonAsync(path, body, Cancellation);

    public static Task<HttpResponseMessage> Patch(this HttpClient client, string path, object body) =>
        client.PatchAsJsonAsync(path, body, Cancellation);

    /// <summary>POST of raw text with the given media type: for malformed and oddly typed bodies.</summary>
    public static Task<HttpResponseMessage> PostRaw(this HttpClient client, string path, string body, string mediaType = "application/json") =>
        client.PostAsync(path, new StringContent(body, Encoding.UTF8, mediaType), Cancellation);

    public static Task<HttpResponseMessage> Submit(this HttpClient client, HttpRequestMessage request) => client.SendAsync(request, Cancellation);

    /// <summary>
    /// A login attempt from <paramref name="clientIp"/> (the socket peer TestServer reports, see TesseraApp), optionally
    /// through a proxy that forwards <paramref name="forwardedFor"/>; the answer as it comes, success or not.
    /// </summary>
    public static Task<HttpResponseMessage> AttemptLogin(
        this HttpClient client, string email, string clientIp, string password = TesseraApp.Password, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/login") { Content = JsonContent.Create(new { email, password }) };
        request.Headers.Add(TesseraApp.ClientIpHeader, clientIp);
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return client.Submit(request);
    }

    /// <summary>POST with a JSON body from <paramref name="clientIp"/> (the socket peer TestServer reports, see TesseraApp).</summary>
    public static Task<HttpResponseMessage> PostFrom(this HttpClient client, string path, object body, string clientIp)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add(TesseraApp.ClientIpHeader, clientIp);
        return client.Submit(request);
    }

    public static Task<string> ReadTextAsync(this HttpResponseMessage response) => response.Content.ReadAsStringAsync(Cancellation);

    /// <summary>
    /// A page's form as a browser posts it: with the antiforgery token of a GET of <paramref name="path"/> and its cookie
    /// (plus <paramref name="cookie"/>, such as the session, when given).
    /// </summary>
    public static async Task<HttpRequestMessage> PageFormAsync(
        this HttpClient client, string path, IEnumerable<KeyValuePair<string, string>> fields, string? cookie = null)
    {
        var (token, antiforgeryCookie) = await client.AntiforgeryAsync(path);
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(fields.Append(new("__RequestVerificationToken", token))),
        };
        request.Headers.Add("Cookie", cookie is null ? antiforgeryCookie : $"{antiforgeryCookie}; {cookie}");
        return request;
    }

    /// <summary>The antiforgery form field and cookie that a GET of the page <paramref name="path"/> hands out.</summary>
    public static async Task<(string Token, string Cookie)> AntiforgeryAsync(this HttpClient client, string path = "/login")
    {
        var page = await client.Get(path);
        var token = AntiforgeryField().Match(await page.ReadTextAsync()).Groups[1].Value;
        var cookie = page.Headers.GetValues("Set-Cookie").First(c => c.StartsWith("tessera_antiforgery=", StringComparison.Ordinal)).Split(';')[0];
        return (token, cookie);
    }

    [System.Text.RegularExpressions.GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial System.Text.RegularExpressions.Regex AntiforgeryField();
}
