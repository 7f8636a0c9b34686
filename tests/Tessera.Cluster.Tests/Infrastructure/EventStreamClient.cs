using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>One Server-Sent Event as it arrived, with the Stopwatch timestamp of its arrival.</summary>
public sealed record ServerSentEvent(string Name, string Data, long ReceivedAt);

/// <summary>A client of GET /v1/events on one node: reads events in the background as they arrive.</summary>
public sealed class EventStreamClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly Channel<ServerSentEvent> _events = Channel.CreateUnbounded<ServerSentEvent>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;

    private EventStreamClient(HttpClient http, HttpResponseMessage response, string node)
    {
        _http = http;
        _response = response;
        Node = node;
        _reading = ReadAsync();
    }

    public string Node { get; }

    /// <summary>True once the server has closed the stream.</summary>
    public bool Ended { get; private set; }

    public static async Task<EventStreamClient> OpenAsync(TesseraNode node, string token)
    {
        // A client of its own: the stream holds its connection for as long as it is open.
        var http = new HttpClient { BaseAddress = new Uri(node.BaseUrl), Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancel.Token);
            response.Dispose();
            http.Dispose();
            throw new InvalidOperationException($"GET /v1/events on {node.Name}: {(int)response.StatusCode} {body}");
        }

        return new EventStreamClient(http, response, node.Name);
    }

    /// <summary>The next event named <paramref name="name"/> (others are skipped), or null when none comes in time or the stream ends.</summary>
    public async Task<ServerSentEvent?> WaitForAsync(string name, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (await _events.Reader.WaitToReadAsync(cancel.Token))
            {
                while (_events.Reader.TryRead(out var item))
                {
                    if (item.Name == name)
                    {
                        return item;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return null;
    }

    /// <summary>Waits for the server to close the stream; true when it did within the time.</summary>
    public async Task<bool> WaitForEndAsync(TimeSpan timeout)
    {
        try
        {
            await _reading.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
        }

        return Ended;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _reading.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception exception) when (exception is OperationCanceledException or TimeoutException)
        {
        }

        _http.Dispose();
        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        try
        {
            await using var stream = await _response.Content.ReadAsStreamAsync(_stop.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? name = null;
            var data = new StringBuilder();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (name is not null || data.Length > 0)
                    {
                        _events.Writer.TryWrite(new ServerSentEvent(name ?? "message", data.ToString(), Stopwatch.GetTimestamp()));
                    }

                    name = null;
                    data.Clear();
                }
                else if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    name = line["event:".Length..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    if (data.Length > 0)
                    {
                        data.Append('\n');
                    }

                    data.Append(line["data:".Length..].TrimStart());
                }
            }

            Ended = true;
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed by the server (or by us).
            Ended = !_stop.IsCancellationRequested;
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }
}
