using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Tessera.RelyingLatency;

/// <summary>An answer read to the end: its status and body.</summary>
internal readonly record struct Answer(int Status, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>The problem's <c>code</c>, when the body is one.</summary>
    public string? Code
    {
        get
        {
            try
            {
                return Json.TryGetProperty("code", out var code) ? code.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    public override string ToString() => $"{Status} {(Body.Length > 300 ? Body[..300] + "…" : Body)}";
}

/// <summary>One warm connection pool for Tessera and one for the app: nothing is measured on a fresh TCP connection.</summary>
internal sealed class Clients(Uri tessera, Uri app) : IDisposable
{
    public HttpClient Tessera { get; } = Create(tessera);

    public HttpClient App { get; } = Create(app);

    /// <summary>The app's WebSocket address.</summary>
    public Uri Socket { get; } = new UriBuilder(app) { Scheme = app.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri;

    public static async Task<Answer> SendAsync(HttpClient client, HttpMethod method, string path, string? token, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await client.SendAsync(request, cancellationToken);
        return new Answer((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public void Dispose()
    {
        Tessera.Dispose();
        App.Dispose();
    }

    private static HttpClient Create(Uri baseAddress) =>
        new(new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
            DefaultRequestVersion = HttpVersion.Version11,
        };
}
