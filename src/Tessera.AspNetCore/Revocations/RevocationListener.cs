using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.AspNetCore.Verdicts;

namespace Tessera.AspNetCore.Revocations;

/// <summary>
/// Follows <c>GET /v1/revocations</c> for one scheme, by the rules of docs/relying-apps.md: the lease only from
/// heartbeats, anchored at the moment the request was sent; <c>lease: 0</c> grants nothing; nothing for three heartbeat
/// intervals is a stall (reconnect with <c>Last-Event-ID</c>); reconnects back off with jitter; <c>reset</c> drops every
/// verdict; <c>revoked</c> is applied and then acknowledged, one acknowledgement at a time with later events folded in;
/// <c>closed</c> stops trusting and stops following. Without the lease the handler introspects every request.
/// </summary>
internal sealed partial class RevocationListener(TesseraAuthorities authorities, string scheme, IHttpClientFactory httpClients, ILogger<RevocationListener> logger)
    : BackgroundService
{
    /// <summary>A stream is replaced by a new one (resumed with <c>Last-Event-ID</c>) after this long, so that the clock-rate margin on its lease stays small.</summary>
    internal static readonly TimeSpan Recycle = TimeSpan.FromMinutes(10);

    /// <summary>Until <c>hello</c> names the heartbeat interval: the stall limit is three of these.</summary>
    private static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan FirstReconnectDelay = TimeSpan.FromMilliseconds(100);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly IHttpClientFactory _httpClients = httpClients;
    private readonly ILogger _logger = logger;
    private TesseraAuthority _authority = null!;
    private string? _lastEventId;

    /// <summary>Connections opened so far (for tests and diagnostics).</summary>
    public int Connections { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _authority = authorities.Get(scheme);
        if (!_authority.Options.FollowRevocations)
        {
            return;
        }

        var clock = _authority.Clock;
        var delay = FirstReconnectDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            var outcome = Outcome.Failed;
            try
            {
                outcome = await FollowOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // Whatever went wrong, the listener tries again: a background service that throws would stop the app,
                // and the app works without the stream (it asks Tessera about every request meanwhile).
                LogDisconnected(_logger, _authority.BaseAddress, exception.Message);
            }

            switch (outcome)
            {
                case Outcome.Closed:
                    return;
                case Outcome.Healthy:
                    delay = FirstReconnectDelay;
                    continue;
                case Outcome.Stalled:
                    // A stall is the connection's fault, not Tessera's: try again at once, then back off like any failure.
                    delay = FirstReconnectDelay;
                    break;
                case Outcome.RetryAfter when _retryAfter is { } wait:
                    delay = wait;
                    break;
            }

            // Full jitter: apps that lost the same node do not come back all at once.
            var wait2 = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * delay.TotalMilliseconds);
            try
            {
                await Task.Delay(wait2, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, _authority.Options.MaxReconnectDelay.TotalMilliseconds));
        }
    }

    private TimeSpan? _retryAfter;

    private enum Outcome
    {
        Failed,
        Stalled,
        Healthy,
        RetryAfter,
        Closed,
    }

    /// <summary>One connection, from the request to its end.</summary>
    private async Task<Outcome> FollowOnceAsync(CancellationToken stoppingToken)
    {
        var authority = _authority;
        var clock = authority.Clock;
        using var stall = new CancellationTokenSource(Timeout.InfiniteTimeSpan, clock);
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, stall.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, authority.BaseAddress + "/v1/revocations");
        request.Headers.Authorization = authority.BasicCredentials;
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (_lastEventId is { } lastEventId)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        stall.CancelAfter(authority.Options.BackchannelTimeout);
        Connections++;
        // The lease is anchored here, before Tessera starts counting `elapsed`.
        var sent = clock.GetTimestamp();
        using var response = await _httpClients.CreateClient(TesseraDefaults.StreamHttpClientName)
            .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, connection.Token);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(connection.Token);
            LogRefused(_logger, (int)response.StatusCode, body.Length > 300 ? body[..300] : body);
            if (response.StatusCode == HttpStatusCode.TooManyRequests && response.Headers.RetryAfter?.Delta is { } retryAfter)
            {
                _retryAfter = retryAfter;
                return Outcome.RetryAfter;
            }

            return Outcome.Failed;
        }

        var heartbeat = DefaultHeartbeat;
        stall.CancelAfter(3 * heartbeat);
        var settle = TimeSpan.Zero;
        var healthy = false;
        using var acks = new Acknowledger(this, connection);
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(connection.Token);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(connection.Token))
            {
                // Anything on the stream shows it is alive; three heartbeat intervals of nothing is a stall.
                stall.CancelAfter(3 * heartbeat);
                switch (item.EventType)
                {
                    case "reset":
                        var reset = JsonSerializer.Deserialize<ResetData>(item.Data, Json);
                        authority.ApplyReset();
                        LogReset(_logger, reset?.Reason ?? "unknown");
                        Applied(item.EventId, acks);
                        break;
                    case "hello":
                        var hello = JsonSerializer.Deserialize<HelloData>(item.Data, Json) ?? throw new JsonException("An empty hello.");
                        heartbeat = hello.Heartbeat > 0 ? TimeSpan.FromMilliseconds(hello.Heartbeat) : DefaultHeartbeat;
                        settle = TimeSpan.FromMilliseconds(Math.Max(0, hello.Settle));
                        stall.CancelAfter(3 * heartbeat);
                        acks.Stream = hello.Stream;
                        healthy = true;
                        LogConnected(_logger, authority.BaseAddress);
                        break;
                    case "revoked":
                        var revoked = JsonSerializer.Deserialize<RevokedData>(item.Data, Json) ?? throw new JsonException("An empty revoked event.");
                        authority.ApplyRevoked(revoked.UserId, revoked.SessionIds ?? [], revoked.Reason, revoked.UserChanged, settle);
                        LogRevoked(_logger, revoked.UserId, revoked.SessionIds?.Length ?? 0, revoked.Reason);
                        Applied(item.EventId, acks);
                        break;
                    case "heartbeat":
                        var beat = JsonSerializer.Deserialize<HeartbeatData>(item.Data, Json) ?? throw new JsonException("An empty heartbeat.");
                        authority.Cache.SetLease(LeaseUntil(sent, beat, clock));
                        authority.Cache.SweepIfDue(clock.GetTimestamp());
                        if (beat.Elapsed > Recycle.TotalMilliseconds)
                        {
                            return Outcome.Healthy;
                        }

                        break;
                    case "closed":
                        var closed = JsonSerializer.Deserialize<ClosedData>(item.Data, Json);
                        authority.Cache.SetLease(0);
                        authority.ApplyReset();
                        LogClosed(_logger, closed?.Code ?? "unknown");
                        return Outcome.Closed;
                    default:
                        break;
                }
            }

            LogEnded(_logger, authority.BaseAddress);
            return healthy ? Outcome.Healthy : Outcome.Failed;
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested && (acks.StreamGone || stall.IsCancellationRequested))
        {
            if (acks.StreamGone)
            {
                return Outcome.Healthy;
            }

            LogStalled(_logger, authority.BaseAddress, (3 * heartbeat).TotalMilliseconds);
            return Outcome.Stalled;
        }
    }

    /// <summary>
    /// <c>sent + elapsed + lease</c>, less a margin for the two clocks' rates (0.1 ‰ of the span, and 10 ms); 0 for
    /// <c>lease: 0</c>, which grants nothing.
    /// </summary>
    internal static long LeaseUntil(long sent, HeartbeatData beat, TimeProvider clock)
    {
        if (beat.Lease <= 0 || beat.Elapsed < 0)
        {
            return 0;
        }

        var span = beat.Elapsed + beat.Lease;
        var trusted = span - (span / 10_000.0) - 10;
        if (trusted <= beat.Elapsed)
        {
            return 0;
        }

        return sent + (long)(trusted / 1000.0 * clock.TimestampFrequency);
    }

    private void Applied(string? eventId, Acknowledger acks)
    {
        if (string.IsNullOrEmpty(eventId))
        {
            return;
        }

        _lastEventId = eventId;
        var dot = eventId.LastIndexOf('.');
        if (dot >= 0 && long.TryParse(eventId.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            acks.Through(sequence);
        }
    }

    /// <summary>
    /// Sends <c>POST /v1/revocations/ack</c> one at a time: while one is in flight, later events only raise the number the
    /// next one carries. A 404 means the stream is gone: the connection is dropped and opened again.
    /// </summary>
    private sealed class Acknowledger : IDisposable
    {
        private readonly RevocationListener _listener;
        private readonly CancellationTokenSource _connection;
        private readonly SemaphoreSlim _wake = new(0);
        private readonly Task _loop;
        private long _through = -1;
        private long _sent = -1;
        private string? _stream;

        public Acknowledger(RevocationListener listener, CancellationTokenSource connection)
        {
            _listener = listener;
            _connection = connection;
            _loop = Task.Run(LoopAsync);
        }

        /// <summary>Set by <c>hello</c>; acknowledgements wait for it.</summary>
        public string? Stream
        {
            get => Volatile.Read(ref _stream);
            set
            {
                Volatile.Write(ref _stream, value);
                _wake.Release();
            }
        }

        public bool StreamGone { get; private set; }

        public void Through(long sequence)
        {
            if (sequence > Interlocked.Read(ref _through))
            {
                Interlocked.Exchange(ref _through, sequence);
                _wake.Release();
            }
        }

        private async Task LoopAsync()
        {
            var token = _connection.Token;
            var authority = _listener._authority;
            try
            {
                while (true)
                {
                    await _wake.WaitAsync(token);
                    while (Stream is { } stream && Interlocked.Read(ref _through) is var through && through > _sent)
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                        timeout.CancelAfter(authority.Options.BackchannelTimeout);
                        using var request = new HttpRequestMessage(HttpMethod.Post, authority.BaseAddress + "/v1/revocations/ack")
                        {
                            Content = JsonContent.Create(new AckBody(stream, through)),
                        };
                        request.Headers.Authorization = authority.BasicCredentials;
                        try
                        {
                            using var response = await _listener._httpClients.CreateClient(TesseraDefaults.HttpClientName).SendAsync(request, timeout.Token);
                            if (response.StatusCode == HttpStatusCode.NotFound)
                            {
                                LogStreamGone(_listener._logger);
                                StreamGone = true;
                                await _connection.CancelAsync();
                                return;
                            }

                            if (response.IsSuccessStatusCode)
                            {
                                _sent = through;
                            }
                            else
                            {
                                LogAckRefused(_listener._logger, (int)response.StatusCode);
                                await Task.Delay(TimeSpan.FromMilliseconds(100), authority.Clock, token);
                            }
                        }
                        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException && !token.IsCancellationRequested)
                        {
                            LogAckRefused(_listener._logger, 0);
                            await Task.Delay(TimeSpan.FromMilliseconds(100), authority.Clock, token);
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The connection ended; the next one acknowledges what it applies.
            }
        }

        public void Dispose()
        {
            _connection.Cancel();
            try
            {
                _loop.Wait(TimeSpan.FromSeconds(1));
            }
            catch (AggregateException)
            {
                // Already logged where it happened.
            }

            _wake.Dispose();
        }
    }

    internal sealed record HeartbeatData(long Elapsed, long Lease);

    private sealed record ResetData(string? Reason);

    private sealed record HelloData(string Stream, long Lease, long Heartbeat, long Settle);

    private sealed record RevokedData(string? UserId, string[]? SessionIds, string? Reason, bool UserChanged);

    private sealed record ClosedData(string? Code);

    private sealed record AckBody([property: JsonPropertyName("stream")] string Stream, [property: JsonPropertyName("through")] long Through);

    // The stream id is not logged: anyone with the scope who knows it can acknowledge for it (docs/relying-apps.md).
    [LoggerMessage(Level = LogLevel.Information, Message = "Following Tessera's revocation stream at {Authority}.")]
    private static partial void LogConnected(ILogger logger, string authority);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tessera's revocation stream at {Authority} was lost ({Error}); every request is checked with Tessera until it is back.")]
    private static partial void LogDisconnected(ILogger logger, string authority, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tessera's revocation stream at {Authority} ended; reconnecting.")]
    private static partial void LogEnded(ILogger logger, string authority);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tessera's revocation stream at {Authority} brought nothing for {Milliseconds} ms (stalled); reconnecting.")]
    private static partial void LogStalled(ILogger logger, string authority, double milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tessera refused the revocation stream with {Status}: {Body}. Check Tessera:ClientId, Tessera:ClientSecret and the client's 'revocations' scope; every request is checked with Tessera meanwhile.")]
    private static partial void LogRefused(ILogger logger, int status, string body);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tessera reset the revocation stream ({Reason}): every cached verdict is dropped.")]
    private static partial void LogReset(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Revoked: user {UserId}, {Count} sessions, reason {Reason}.")]
    private static partial void LogRevoked(ILogger logger, string? userId, int count, string? reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tessera closed the revocation stream ({Code}): the app no longer caches verdicts and asks Tessera about every request. Restart it with working credentials.")]
    private static partial void LogClosed(ILogger logger, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tessera no longer knows the app's revocation stream; reconnecting.")]
    private static partial void LogStreamGone(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An acknowledgement to Tessera failed ({Status}); it is sent again.")]
    private static partial void LogAckRefused(ILogger logger, int status);
}
