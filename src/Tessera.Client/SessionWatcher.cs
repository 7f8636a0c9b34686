using System.Net;
using System.Net.NetworkInformation;
using System.Net.ServerSentEvents;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Tessera.Client;

/// <summary>
/// Tells an app, at once, that its session ended anywhere (another device's "Sign out all devices", a password change,
/// an admin's ban…), with the reason and the server's sentence, and tells that apart from a lost network.
/// </summary>
/// <remarks>
/// <para>It holds <c>GET /v1/events</c> open and reconnects with jittered exponential backoff; a stream silent past
/// <see cref="SessionWatcherOptions.PingTimeout"/> counts as dead. Only where the stream cannot be held (refused again
/// and again, or not served) does it poll <c>GET /v1/auth/session</c>, and then only while signed in and in the
/// foreground (<see cref="SetForeground"/>).</para>
/// <para>The rule: no answer is <see cref="SessionWatcherState.Offline"/>, never a sign-out. Only the stream's
/// <c>session.revoked</c> or a 401 with a session-ended code ends the session: the token is cleared and
/// <see cref="SessionEnded"/> is raised once for that session, on the <see cref="SynchronizationContext"/> that was
/// current at <see cref="Start"/> (so a UI handler may touch its UI). <see cref="StateChanged"/> is raised there too.</para>
/// <para>Endings the app did itself through its client (<see cref="TesseraClient.SignOutAsync"/>,
/// <see cref="TesseraClient.EndAllSessionsAsync"/>) are no news: the state becomes <see cref="SessionWatcherState.SignedOut"/>
/// and no <see cref="SessionEnded"/> is raised. Every wait goes through the client's <see cref="TimeProvider"/>.</para>
/// </remarks>
public sealed class SessionWatcher : IAsyncDisposable
{
    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");

    private readonly TesseraClient _client;
    private readonly SessionWatcherOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<string> _endedTokens = new(StringComparer.Ordinal);
    // An object, not System.Threading.Lock: net8.0 has no Lock.
    private readonly object _lock = new();
    private TaskCompletionSource _wake = NewSignal();
    private CancellationTokenSource? _connection;
    private SynchronizationContext? _context;
    private Task? _loop;
    private volatile bool _foreground = true;
    private int _state = (int)SessionWatcherState.Connecting;
    private bool _started;
    private bool _disposed;

    public SessionWatcher(TesseraClient client, SessionWatcherOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = options ?? new SessionWatcherOptions();
        _clock = client.TimeProvider;
        _logger = client.LoggerFactory.CreateLogger<SessionWatcher>();
    }

    /// <summary>Raised once per session that ends (not for endings this app's client did itself).</summary>
    public event EventHandler<SessionEndedEventArgs>? SessionEnded;

    /// <summary>Raised at each change of <see cref="State"/>.</summary>
    public event EventHandler<SessionWatcherStateChangedEventArgs>? StateChanged;

    public SessionWatcherState State => (SessionWatcherState)Volatile.Read(ref _state);

    /// <summary>
    /// Starts watching. Call it on the UI thread: its <see cref="SynchronizationContext"/> is where the events are raised
    /// (without one they are raised on the thread pool).
    /// </summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            if (_started)
            {
                throw new InvalidOperationException("The watcher is already started.");
            }

            _started = true;
        }

        _context = SynchronizationContext.Current;
        _client.SessionEndedDetected += OnSessionEndedDetected;
        _client.TokenChanged += OnTokenChanged;
        try
        {
            NetworkChange.NetworkAvailabilityChanged += OnNetworkAvailabilityChanged;
        }
        catch (PlatformNotSupportedException)
        {
            // The app calls CheckNowAsync when it learns the network is back.
        }

        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>
    /// Tells whether the app is in the foreground. Polling (the fallback when the stream cannot be held) runs only in
    /// the foreground; coming back to it checks at once.
    /// </summary>
    public void SetForeground(bool foreground)
    {
        _foreground = foreground;
        if (foreground)
        {
            Wake();
        }
    }

    /// <summary>
    /// Checks the session now, in one round trip, and reconnects the stream at once if it is down: call it on wake from
    /// sleep and when the network comes back. An ended session raises <see cref="SessionEnded"/>; no answer leaves the
    /// session as it was (state <see cref="SessionWatcherState.Offline"/> unless the stream is live).
    /// </summary>
    public async Task CheckNowAsync(CancellationToken cancellationToken = default)
    {
        Wake();
        if (_client.TokenStore.Load() is null)
        {
            return;
        }

        try
        {
            await _client.GetCurrentSessionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (TesseraApiException)
        {
            // An ended session is told through the client's event; any other refusal (429, 503) decides nothing.
        }
        catch (TesseraUnavailableException)
        {
            if (State is SessionWatcherState.Connecting or SessionWatcherState.Polling)
            {
                SetState(SessionWatcherState.Offline);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _client.SessionEndedDetected -= OnSessionEndedDetected;
        _client.TokenChanged -= OnTokenChanged;
        try
        {
            NetworkChange.NetworkAvailabilityChanged -= OnNetworkAvailabilityChanged;
        }
        catch (PlatformNotSupportedException)
        {
            // Never hooked.
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        _stop.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task RunAsync(CancellationToken stop)
    {
        var failures = 0;
        var refusals = 0;
        DateTimeOffset? pollingSince = null;
        while (!stop.IsCancellationRequested)
        {
            var token = _client.TokenStore.Load();
            if (token is null || IsEnded(token))
            {
                if (State != SessionWatcherState.Ended)
                {
                    SetState(SessionWatcherState.SignedOut);
                }

                await WaitAsync(Timeout.InfiniteTimeSpan, stop).ConfigureAwait(false);
                continue;
            }

            if (pollingSince is { } since && _clock.GetUtcNow() - since < _options.StreamRetryWhilePolling)
            {
                await PollAsync(stop).ConfigureAwait(false);
                continue;
            }

            pollingSince = null;
            if (State is SessionWatcherState.SignedOut or SessionWatcherState.Ended or SessionWatcherState.Polling)
            {
                SetState(SessionWatcherState.Connecting);
            }

            var outcome = await StreamAsync(token, stop).ConfigureAwait(false);
            TimeSpan? retryAfter = null;
            switch (outcome.Kind)
            {
                case StreamEnd.SessionEnded:
                case StreamEnd.Restart:
                    failures = 0;
                    continue;
                case StreamEnd.WasLive:
                    // It held, then dropped: reconnect soon, as after a first failure.
                    refusals = 0;
                    failures = 1;
                    break;
                case StreamEnd.Unreachable:
                    failures++;
                    break;
                case StreamEnd.Refused:
                    refusals++;
                    failures++;
                    retryAfter = outcome.RetryAfter;
                    if (refusals >= _options.RefusalsBeforePolling)
                    {
                        refusals = 0;
                        failures = 0;
                        pollingSince = _clock.GetUtcNow();
                        Log.Polling(_logger, _client.Authority, _options.PollInterval);
                        SetState(SessionWatcherState.Polling);
                        continue;
                    }

                    break;
            }

            var delay = Backoff(failures);
            if (retryAfter > delay)
            {
                delay = retryAfter.Value;
            }

            if (outcome.Kind == StreamEnd.Unreachable)
            {
                Log.Offline(_logger, _client.Authority, outcome.Error ?? "no answer", delay);
            }

            await WaitAsync(delay, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Full-jitter-ish exponential backoff: half the step plus a random part of the other half, so copies of an app do not reconnect in step.</summary>
    private TimeSpan Backoff(int failures)
    {
        var step = _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Clamp(failures - 1, 0, 20));
        step = Math.Min(step, _options.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((step / 2) + (Random.Shared.NextDouble() * step / 2));
    }

    /// <summary>One connection of the event stream, from the request to its end.</summary>
    private async Task<StreamOutcome> StreamAsync(string token, CancellationToken stop)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop);
        lock (_lock)
        {
            _connection = connection;
        }

        var live = false;
        try
        {
            using var request = TesseraClient.Request(HttpMethod.Get, _client.Route("v1/events"), token);
            request.Headers.Accept.Add(EventStream);
            HttpResponseMessage response;
            using (var headers = new CancellationTokenSource(_client.RequestTimeout, _clock))
            using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(connection.Token, headers.Token))
            {
                response = await _client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, waiting.Token).ConfigureAwait(false);
            }

            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    return await RefusalAsync(token, response, connection.Token).ConfigureAwait(false);
                }

                if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
                {
                    Log.StreamRefused(_logger, _client.Authority, (int)response.StatusCode, "not an event stream");
                    return new StreamOutcome(StreamEnd.Refused);
                }

                using var silence = new CancellationTokenSource(_options.PingTimeout, _clock);
                using var reading = CancellationTokenSource.CreateLinkedTokenSource(connection.Token, silence.Token);
                var body = await response.Content.ReadAsStreamAsync(reading.Token).ConfigureAwait(false);
                live = true;
                Log.StreamLive(_logger, _client.Authority);
                SetState(SessionWatcherState.Live);
                await foreach (var item in SseParser.Create(body).EnumerateAsync(reading.Token).ConfigureAwait(false))
                {
                    silence.CancelAfter(_options.PingTimeout);
                    if (item.EventType == "session.revoked")
                    {
                        await RevokedAsync(token, item.Data, stop).ConfigureAwait(false);
                        return new StreamOutcome(StreamEnd.SessionEnded);
                    }
                }

                // The server closed the stream (it is stopping, or a proxy cut it).
                SetState(SessionWatcherState.Connecting);
                return new StreamOutcome(StreamEnd.WasLive);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (connection.IsCancellationRequested)
        {
            // The token changed under the stream: look at the store again.
            return new StreamOutcome(StreamEnd.Restart);
        }
        catch (Exception exception) when (exception is OperationCanceledException or HttpRequestException or IOException or TesseraUnavailableException)
        {
            // No answer in time, a silent stream past its ping timeout, a refused or broken connection: offline, never ended.
            SetState(SessionWatcherState.Offline);
            var error = exception is OperationCanceledException ? "no answer in time" : exception.Message;
            return new StreamOutcome(live ? StreamEnd.WasLive : StreamEnd.Unreachable, Error: error);
        }
        finally
        {
            lock (_lock)
            {
                _connection = null;
            }
        }
    }

    private async Task<StreamOutcome> RefusalAsync(string token, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var problem = await TesseraClient.ReadProblemAsync(response, cancellationToken).ConfigureAwait(false);
        if (TesseraErrorCodes.EndsSession(response.StatusCode, problem.Code))
        {
            _client.OnSessionEnded(new EndedSession(token, problem.Reason ?? TesseraErrorCodes.ReasonOf(problem.Code), problem.Message, problem.BannedUntil));
            return new StreamOutcome(StreamEnd.SessionEnded);
        }

        if ((int)response.StatusCode >= 500)
        {
            SetState(SessionWatcherState.Offline);
            return new StreamOutcome(StreamEnd.Unreachable, Error: $"{(int)response.StatusCode} {problem.Code}");
        }

        // 429 (too many streams open) or a route that does not serve a stream here.
        Log.StreamRefused(_logger, _client.Authority, (int)response.StatusCode, problem.Code);
        return new StreamOutcome(StreamEnd.Refused, problem.RetryAfter);
    }

    /// <summary>
    /// The stream's <c>session.revoked</c>. For a ban, one request with the dead token fetches the ban's end and the
    /// sentence that names it (the event carries neither); if that fails, the event's own sentence stands.
    /// </summary>
    private async Task RevokedAsync(string token, string data, CancellationToken stop)
    {
        RevokedEvent? revoked = null;
        try
        {
            revoked = JsonSerializer.Deserialize(data, ClientJson.Default.RevokedEvent);
        }
        catch (JsonException)
        {
            // Malformed data: still the end of the session.
        }

        var reason = revoked?.Reason ?? "token_revoked";
        var sentence = revoked?.Message ?? "Your session was ended.";
        DateTimeOffset? bannedUntil = null;
        if (reason == "user_banned")
        {
            try
            {
                using var timeout = new CancellationTokenSource(_client.RequestTimeout, _clock);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token);
                using var request = TesseraClient.Request(HttpMethod.Get, _client.Route("v1/auth/session"), token);
                using var response = await _client.Http.SendAsync(request, linked.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    var problem = await TesseraClient.ReadProblemAsync(response, linked.Token).ConfigureAwait(false);
                    if (problem.Code == TesseraErrorCodes.AccountBanned)
                    {
                        bannedUntil = problem.BannedUntil;
                        sentence = problem.Message;
                    }
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or TesseraUnavailableException
                                                  or OperationCanceledException && !stop.IsCancellationRequested)
            {
                // The event's sentence stands.
            }
        }

        _client.OnSessionEnded(new EndedSession(token, reason, sentence, bannedUntil));
    }

    /// <summary>One step of the fallback: a check of the session if in the foreground, then the wait to the next.</summary>
    private async Task PollAsync(CancellationToken stop)
    {
        if (!_foreground)
        {
            await WaitAsync(Timeout.InfiniteTimeSpan, stop).ConfigureAwait(false);
            return;
        }

        try
        {
            await _client.GetCurrentSessionAsync(stop).ConfigureAwait(false);
            SetState(SessionWatcherState.Polling);
        }
        catch (TesseraApiException)
        {
            // An ended session came through the client's event; other refusals decide nothing.
        }
        catch (TesseraUnavailableException)
        {
            SetState(SessionWatcherState.Offline);
        }

        await WaitAsync(_options.PollInterval, stop).ConfigureAwait(false);
    }

    /// <summary>Waits for <paramref name="delay"/> on the clock, or until woken (check now, foreground, token changed).</summary>
    private async Task WaitAsync(TimeSpan delay, CancellationToken stop)
    {
        TaskCompletionSource wake;
        lock (_lock)
        {
            wake = _wake;
        }

        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var timer = Task.Delay(delay, _clock, waiting.Token);
        var first = await Task.WhenAny(timer, wake.Task).ConfigureAwait(false);
        await waiting.CancelAsync().ConfigureAwait(false);
        if (first == wake.Task)
        {
            lock (_lock)
            {
                if (_wake == wake)
                {
                    _wake = NewSignal();
                }
            }
        }

        stop.ThrowIfCancellationRequested();
    }

    private void Wake()
    {
        lock (_lock)
        {
            _wake.TrySetResult();
        }
    }

    private bool IsEnded(string token)
    {
        lock (_lock)
        {
            return _endedTokens.Contains(token);
        }
    }

    private void OnTokenChanged()
    {
        lock (_lock)
        {
            // A stream of a token that is no longer stored serves nobody: drop it and look again.
            if (_connection is { } connection && !connection.IsCancellationRequested)
            {
                connection.Cancel();
            }

            _wake.TrySetResult();
        }
    }

    private void OnSessionEndedDetected(EndedSession ended)
    {
        lock (_lock)
        {
            if (!_endedTokens.Add(ended.Token))
            {
                return;
            }

            if (_connection is { } connection && !connection.IsCancellationRequested)
            {
                connection.Cancel();
            }

            _wake.TrySetResult();
        }

        if (_client.WasEndedHere(ended.Token))
        {
            SetState(SessionWatcherState.SignedOut);
            return;
        }

        SetState(SessionWatcherState.Ended);
        var args = new SessionEndedEventArgs(ended.Reason, ended.Sentence, ended.BannedUntil);
        Raise(() => SessionEnded?.Invoke(this, args));
    }

    private void OnNetworkAvailabilityChanged(object? sender, NetworkAvailabilityEventArgs e)
    {
        if (e.IsAvailable)
        {
            _ = CheckNowAsync();
        }
    }

    private void SetState(SessionWatcherState state)
    {
        var previous = (SessionWatcherState)Interlocked.Exchange(ref _state, (int)state);
        if (previous != state)
        {
            var args = new SessionWatcherStateChangedEventArgs(previous, state);
            Raise(() => StateChanged?.Invoke(this, args));
        }
    }

    private void Raise(Action handler)
    {
        if (_context is { } context)
        {
            context.Post(static state => ((Action)state!)(), handler);
            return;
        }

        try
        {
            handler();
        }
#pragma warning disable CA1031 // An app's handler that throws on the thread pool must not stop the watcher.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private enum StreamEnd
    {
        SessionEnded,
        Restart,
        WasLive,
        Unreachable,
        Refused,
    }

    private readonly record struct StreamOutcome(StreamEnd Kind, TimeSpan? RetryAfter = null, string? Error = null);
}
