using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>A connected <c>/v1/events</c> stream, read with the framework's own SSE parser.</summary>
public sealed class EventStreamClient : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<string>> _events;

    // A read that outlived the timeout of the call that started it; the next call picks it up.
    private Task<bool>? _pending;

    private EventStreamClient(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _events = SseParser.Create(body).EnumerateAsync().GetAsyncEnumerator();
    }

    /// <summary>The response headers of the stream.</summary>
    public HttpResponseMessage Response => _response;

    /// <summary>Connects and waits for the first ping, so the stream is registered before the test goes on.</summary>
    public static async Task<EventStreamClient> ConnectAsync(HttpClient client)
    {
        var response = await client.GetAsync("/v1/events", HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            // Read the body only on failure: on success it is the endless event stream itself.
            Assert.Fail($"/v1/events answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var stream = new EventStreamClient(response, await response.Content.ReadAsStreamAsync());
        var first = await stream.NextAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("ping", first?.EventType);
        return stream;
    }

    /// <summary>The next event, or null when the server closed the stream.</summary>
    public async Task<SseItem<string>?> NextAsync(TimeSpan timeout)
    {
        var next = _pending ?? _events.MoveNextAsync().AsTask();
        _pending = next;
        using var cts = new CancellationTokenSource();
        var finished = await Task.WhenAny(next, Task.Delay(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero, cts.Token));
        if (finished != next)
        {
            throw new TimeoutException($"No event within {timeout.TotalMilliseconds} ms.");
        }

        await cts.CancelAsync();
        _pending = null;
        bool moved;
        try
        {
            moved = await next;
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException or OperationCanceledException)
        {
            // The server ended the response: the stream is over.
            return null;
        }

        return moved ? _events.Current : null;
    }

    /// <summary>True when nothing but pings arrives within <paramref name="quiet"/> (and the stream stays open).</summary>
    public async Task<bool> StaysQuietAsync(TimeSpan quiet)
    {
        var deadline = DateTime.UtcNow + quiet;
        while (DateTime.UtcNow < deadline)
        {
            SseItem<string>? item;
            try
            {
                item = await NextAsync(deadline - DateTime.UtcNow);
            }
            catch (TimeoutException)
            {
                return true;
            }

            if (item is null || item.Value.EventType != "ping")
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Waits for <c>session.revoked</c> (skipping pings) and returns its data.</summary>
    public async Task<JsonElement> ExpectRevokedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var item = await NextAsync(deadline - DateTime.UtcNow) ?? throw new InvalidOperationException("The stream closed without session.revoked.");
            if (item.EventType == "session.revoked")
            {
                return JsonDocument.Parse(item.Data).RootElement;
            }
        }
    }

    /// <summary>Asserts that the server ends the stream (after its last event) within <paramref name="timeout"/>.</summary>
    public async Task ExpectClosedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var item = await NextAsync(deadline - DateTime.UtcNow);
            if (item is null)
            {
                return;
            }

            Assert.True(item.Value.EventType == "ping", $"Expected the stream to close, got '{item.Value.EventType}': {item.Value.Data}");
        }
    }

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
    }
}
