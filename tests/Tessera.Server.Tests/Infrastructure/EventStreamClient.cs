using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>A connected <c>/v1/events</c> stream, read with the framework's own SSE parser.</summary>
public sealed class EventStreamClient : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<string>> _events;

    private EventStreamClient(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _events = SseParser.Create(body).EnumerateAsync().GetAsyncEnumerator();
    }

    /// <summary>Connects and waits for the first ping, so the stream is registered before the test goes on.</summary>
    public static async Task<EventStreamClient> ConnectAsync(HttpClient client)
    {
        var response = await client.GetAsync("/v1/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, $"/v1/events answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var stream = new EventStreamClient(response, await response.Content.ReadAsStreamAsync());
        var first = await stream.NextAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("ping", first?.EventType);
        return stream;
    }

    /// <summary>The next event, or null when the server closed the stream.</summary>
    public async Task<SseItem<string>?> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var next = _events.MoveNextAsync().AsTask();
        var finished = await Task.WhenAny(next, Task.Delay(timeout, cts.Token));
        if (finished != next)
        {
            throw new TimeoutException($"No event within {timeout.TotalMilliseconds} ms.");
        }

        await cts.CancelAsync();
        return await next ? _events.Current : null;
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

    public async ValueTask DisposeAsync()
    {
        _response.Dispose();
        try
        {
            await _events.DisposeAsync();
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
