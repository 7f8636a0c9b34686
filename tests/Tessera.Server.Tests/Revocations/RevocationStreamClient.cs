using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Tessera.Server.Tests.Clients;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Revocations;

/// <summary>A relying app's connection to <c>GET /v1/revocations</c>, read with the framework's own SSE parser.</summary>
public sealed class RevocationStreamClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<string>> _events;
    private Task<bool>? _pending;

    private RevocationStreamClient(HttpClient http, HttpResponseMessage response, Stream body)
    {
        _http = http;
        _response = response;
        _events = SseParser.Create(body).EnumerateAsync().GetAsyncEnumerator();
    }

    public HttpResponseMessage Response => _response;

    /// <summary>The stream id of <c>hello</c>, once it has been read.</summary>
    public string? StreamId { get; private set; }

    /// <summary>The id of the last event that had one.</summary>
    public string? LastEventId { get; private set; }

    /// <summary>Connects as the client; the caller reads the first events.</summary>
    public static async Task<RevocationStreamClient> ConnectAsync(TesseraApp app, string clientId, string secret, string? lastEventId = null)
    {
        var http = app.Anonymous();
        http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/revocations");
        request.Headers.Authorization = AuthenticationHeaderValue.Parse(OAuthRequests.Basic(clientId, secret));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"/v1/revocations answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new RevocationStreamClient(http, response, await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
    }

    /// <summary>Connects and reads the opening <c>reset</c> (or replay) and <c>hello</c>.</summary>
    public static async Task<RevocationStreamClient> ConnectAndGreetAsync(TesseraApp app, string clientId, string secret)
    {
        var stream = await ConnectAsync(app, clientId, secret);
        Assert.Equal("reset", (await stream.NextAsync()).EventType);
        Assert.Equal("hello", (await stream.NextAsync()).EventType);
        return stream;
    }

    /// <summary>The next event; fails when the stream ends or nothing comes within <see cref="Timeout"/>.</summary>
    public async Task<SseItem<string>> NextAsync() =>
        await NextOrEndAsync() ?? throw new InvalidOperationException("The server ended the stream.");

    /// <summary>The next event, or null once the server ended the stream.</summary>
    public async Task<SseItem<string>?> NextOrEndAsync()
    {
        var next = _pending ?? _events.MoveNextAsync().AsTask();
        _pending = next;
        if (await Task.WhenAny(next, Task.Delay(Timeout, TestContext.Current.CancellationToken)) != next)
        {
            throw new TimeoutException($"No event within {Timeout}.");
        }

        _pending = null;
        bool moved;
        try
        {
            moved = await next;
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException or OperationCanceledException)
        {
            return null;
        }

        if (!moved)
        {
            return null;
        }

        var item = _events.Current;
        if (item.EventId is { Length: > 0 } id)
        {
            LastEventId = id;
        }

        if (item.EventType == "hello")
        {
            StreamId = Data(item).GetProperty("stream").GetString();
        }

        return item;
    }

    /// <summary>The next event that is not a heartbeat.</summary>
    public async Task<SseItem<string>> NextNotHeartbeatAsync()
    {
        while (true)
        {
            var item = await NextAsync();
            if (item.EventType != "heartbeat")
            {
                return item;
            }
        }
    }

    /// <summary>The next heartbeat whose data passes <paramref name="match"/> (other events fail the test unless <paramref name="skipOthers"/>).</summary>
    public async Task<JsonElement> NextHeartbeatAsync(Func<JsonElement, bool>? match = null, bool skipOthers = false)
    {
        while (true)
        {
            var item = await NextAsync();
            if (item.EventType != "heartbeat")
            {
                Assert.True(skipOthers, $"Expected a heartbeat, got '{item.EventType}': {item.Data}");
                continue;
            }

            var data = Data(item);
            if (match is null || match(data))
            {
                return data;
            }
        }
    }

    /// <summary>The next <c>revoked</c> event (skipping heartbeats); fails on any other kind.</summary>
    public async Task<(string Id, JsonElement Data)> NextRevokedAsync()
    {
        var item = await NextNotHeartbeatAsync();
        Assert.True(item.EventType == "revoked", $"Expected revoked, got '{item.EventType}': {item.Data}");
        return (item.EventId!, Data(item));
    }

    /// <summary>The next <c>revoked</c> event for <paramref name="userId"/>, skipping every other event (a registration read back, a reset).</summary>
    public async Task<(string Id, JsonElement Data)> NextRevokedForAsync(string userId)
    {
        while (true)
        {
            var item = await NextAsync();
            if (item.EventType == "revoked" && Data(item).GetProperty("userId").GetString() == userId)
            {
                return (item.EventId!, Data(item));
            }
        }
    }

    /// <summary>Acknowledges everything through the last event id read.</summary>
    public async Task AcknowledgeAsync(string clientId, string secret)
    {
        var response = await AcknowledgeAsync(_http, clientId, secret, StreamId!, SequenceOf(LastEventId!));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    public static Task<HttpResponseMessage> AcknowledgeAsync(HttpClient http, string clientId, string secret, string stream, long through) =>
        PostAckAsync(http, OAuthRequests.Basic(clientId, secret), JsonSerializer.Serialize(new { stream, through }));

    /// <summary>POST /v1/revocations/ack with a raw body.</summary>
    public static Task<HttpResponseMessage> PostAckAsync(HttpClient http, string? authorization, string? body, string mediaType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/revocations/ack");
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, mediaType);
        }

        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    public static long SequenceOf(string eventId) => long.Parse(eventId[(eventId.LastIndexOf('.') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    public static JsonElement Data(SseItem<string> item) => JsonDocument.Parse(item.Data).RootElement;

    public async ValueTask DisposeAsync()
    {
        _response.Dispose();
        try
        {
            await _events.DisposeAsync();
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
        }

        _http.Dispose();
    }
}
