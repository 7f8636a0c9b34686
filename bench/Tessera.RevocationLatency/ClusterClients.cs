using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Tessera.RevocationLatency;

/// <summary>An answer read to the end: its status and body.</summary>
internal readonly record struct Answer(int Status, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public override string ToString() => $"{Status} {(Body.Length > 300 ? Body[..300] + "…" : Body)}";
}

/// <summary>
/// One warm connection pool per node (the pollers and the revoke reuse their connections from one revocation to the
/// next), and a separate pool for event streams, which hold their connection while open and are closed by the server.
/// </summary>
internal sealed class ClusterClients : IAsyncDisposable
{
    public ClusterClients(Uri a, Uri b, Uri c)
    {
        A = Create(a, TimeSpan.FromSeconds(30));
        B = Create(b, TimeSpan.FromSeconds(30));
        C = Create(c, TimeSpan.FromSeconds(30));
        Streams = Create(c, Timeout.InfiniteTimeSpan);
    }

    public HttpClient A { get; }

    public HttpClient B { get; }

    public HttpClient C { get; }

    /// <summary>For GET /v1/events on C only.</summary>
    public HttpClient Streams { get; }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? token = null, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    public static async Task<Answer> SendAsync(HttpClient client, HttpMethod method, string path, string? token, object? body, CancellationToken cancellationToken)
    {
        using var request = Request(method, path, token, body);
        using var response = await client.SendAsync(request, cancellationToken);
        return new Answer((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public ValueTask DisposeAsync()
    {
        A.Dispose();
        B.Dispose();
        C.Dispose();
        Streams.Dispose();
        return ValueTask.CompletedTask;
    }

    private static HttpClient Create(Uri baseAddress, TimeSpan timeout) =>
        new(new SocketsHttpHandler
        {
            // Connections stay open across revocations; nothing is measured on a fresh TCP connection.
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        })
        {
            BaseAddress = baseAddress,
            Timeout = timeout,
            DefaultRequestVersion = HttpVersion.Version11,
        };
}
