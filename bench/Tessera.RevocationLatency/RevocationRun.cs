using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Tessera.RevocationLatency;

/// <summary>What one node's poller saw around one revocation; times in ms from t0 (the revoke sent), NaN when never.</summary>
internal sealed record NodeObservation(
    double FirstRejectStart, double FirstRejectEnd, double LastAcceptStart, double LastAcceptEnd, string? RejectCode,
    int Polls, int AcceptedAfterReturn, int OtherAnswers);

/// <summary>One measured revocation; times in ms from t0.</summary>
internal sealed record RevocationSample(
    int Index, string SessionId, int RevokeStatus, double Revoke, NodeObservation B, NodeObservation C, double Event, string? EventReason)
{
    public double BothRejected => Math.Max(B.FirstRejectEnd, C.FirstRejectEnd);
}

/// <summary>
/// Measures revocations one at a time: the session is checked on B and C (so both have it cached), an event stream is
/// open on C, a poller per node checks it in a tight loop; then the revoke goes to A. Every time is read from one
/// <see cref="Stopwatch"/> clock in this process.
/// </summary>
internal sealed class RevocationRun(ClusterClients cluster, BenchOptions options)
{
    /// <summary>How long a poller or the stream may wait for the rejection before the sample counts as missing.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public async Task<RevocationSample> MeasureAsync(int index, Target target, CancellationToken cancellationToken)
    {
        // 1. Both B and C answer from their caches: the check fills the cache on a miss.
        foreach (var node in new[] { cluster.B, cluster.C })
        {
            Fixtures.Expect(await ClusterClients.SendAsync(node, HttpMethod.Get, "/v1/auth/session", target.Token, null, cancellationToken), 200,
                $"check of {target.SessionId} on {node.BaseAddress} before the revoke");
        }

        // 2. An event stream on C, registered (its first ping is sent after registration).
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(Patience + TimeSpan.FromSeconds(10));
        var stream = await EventWatch.OpenAsync(cluster.Streams, target.Token, patience.Token);
        await using (stream)
        {
            await stream.Registered.WaitAsync(Patience, cancellationToken);

            // 3. Pollers in tight loops on B and C; measuring starts once each has had an answer.
            var b = new Poller(cluster.B, target.Token, options.PollPause);
            var c = new Poller(cluster.C, target.Token, options.PollPause);
            var polling = Task.WhenAll(b.RunAsync(patience.Token), c.RunAsync(patience.Token));
            await Task.WhenAll(b.Answered, c.Answered).WaitAsync(Patience, cancellationToken);

            // 4. The revoke, on A, or the change written by another process (t0: that process is started).
            var t0 = Stopwatch.GetTimestamp();
            var revokeStatus = options.External
                ? await ExternalChange.DeactivateAsync(options, target.UserId, cancellationToken)
                : await RevokeOnAAsync(target, cancellationToken);
            var returned = Stopwatch.GetTimestamp();
            b.RevokeReturned = returned;
            c.RevokeReturned = returned;
            patience.CancelAfter(Patience);

            // 5. Rejections and the event (each bounded by Patience).
            await polling;
            var (eventAt, reason) = await stream.RevokedAsync(Patience);
            if (revokeStatus != 204)
            {
                Log.Info($"revocation {index}: the revoke answered {revokeStatus}");
            }

            return new RevocationSample(
                index, target.SessionId, revokeStatus, Ms(t0, returned), b.Observe(t0), c.Observe(t0), eventAt is { } at ? Ms(t0, at) : double.NaN, reason);
        }
    }

    public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private async Task<int> RevokeOnAAsync(Target target, CancellationToken cancellationToken)
    {
        using var revoke = options.Via == RevokePath.Admin
            ? ClusterClients.Request(HttpMethod.Delete, $"/v1/admin/users/{target.UserId}/sessions/{target.SessionId}", target.RevokerToken)
            : ClusterClients.Request(HttpMethod.Delete, $"/v1/sessions/{target.SessionId}", target.RevokerToken);
        using var response = await cluster.A.SendAsync(revoke, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        return (int)response.StatusCode;
    }

    /// <summary>
    /// Checks the session on one node again and again until the node rejects it: back to back by default, or with a pause
    /// between checks to see what the pollers' own load costs the revoke. Each poller has a thread of its own, sends
    /// synchronously and pauses with <see cref="Thread.Sleep(TimeSpan)"/>: a check then starts about the pause after the
    /// last one ended, where an awaited <c>Task.Delay</c> of 1 ms left gaps of 3.6 ms (median) between checks on this
    /// machine (the timer queue and the thread pool's hand-offs), and the "end of the first 401" bound grew by as much.
    /// </summary>
    private sealed class Poller(HttpClient node, string token, TimeSpan pause)
    {
        private readonly List<(long Start, long End, int Status)> _polls = new(64);
        private readonly TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private string? _rejectCode;

        public Task Answered => _answered.Task;

        /// <summary>Set by the measuring thread when the revoke has answered; read after the poller ends.</summary>
        public long RevokeReturned { get; set; }

        public Task RunAsync(CancellationToken cancellationToken)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                try
                {
                    Poll(cancellationToken);
                    done.TrySetResult();
                }
                catch (Exception exception)
                {
                    done.TrySetException(exception);
                }
            })
            {
                IsBackground = true,
                Name = "poller " + node.BaseAddress,
            };
            thread.Start();
            return done.Task;
        }

        private void Poll(CancellationToken cancellationToken)
        {
            var path = new Uri("/v1/auth/session", UriKind.Relative);
            var authorization = new AuthenticationHeaderValue("Bearer", token);
            try
            {
                while (true)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, path);
                    request.Headers.Authorization = authorization;
                    var start = Stopwatch.GetTimestamp();
                    using var response = node.Send(request, cancellationToken);
                    var status = (int)response.StatusCode;
                    string? body = null;
                    if (status != 200)
                    {
                        using var reader = new StreamReader(response.Content.ReadAsStream(cancellationToken));
                        body = reader.ReadToEnd();
                    }

                    var end = Stopwatch.GetTimestamp();
                    _polls.Add((start, end, status));
                    _answered.TrySetResult();
                    if (status == 401)
                    {
                        _rejectCode = ReadCode(body);
                        return;
                    }

                    if (pause > TimeSpan.Zero)
                    {
                        Thread.Sleep(pause);
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
            catch (OperationCanceledException)
            {
                // Out of patience: the sample shows no rejection.
            }
        }

        public NodeObservation Observe(long t0)
        {
            double firstRejectStart = double.NaN, firstRejectEnd = double.NaN, lastAcceptStart = double.NaN, lastAcceptEnd = double.NaN;
            int acceptedAfterReturn = 0, other = 0;
            foreach (var (start, end, status) in _polls)
            {
                switch (status)
                {
                    case 200:
                        lastAcceptStart = Ms(t0, start);
                        lastAcceptEnd = Ms(t0, end);
                        // The promise: a check that began after the revoke returned is never accepted.
                        if (start > RevokeReturned)
                        {
                            acceptedAfterReturn++;
                        }

                        break;
                    case 401:
                        firstRejectStart = Ms(t0, start);
                        firstRejectEnd = Ms(t0, end);
                        break;
                    default:
                        other++;
                        break;
                }
            }

            return new NodeObservation(firstRejectStart, firstRejectEnd, lastAcceptStart, lastAcceptEnd, _rejectCode, _polls.Count, acceptedAfterReturn, other);
        }

        private static string? ReadCode(string? body)
        {
            try
            {
                return body is null ? null : JsonDocument.Parse(body).RootElement.GetProperty("code").GetString();
            }
            catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return "unreadable";
            }
        }
    }

    /// <summary>GET /v1/events on C, read in the background; notes when the stream is registered and when session.revoked arrives.</summary>
    private sealed class EventWatch : IAsyncDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<(long At, string Data)> _revoked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _reading;

        private EventWatch(HttpResponseMessage response)
        {
            _response = response;
            _reading = Task.Run(ReadAsync);
        }

        public Task Registered => _registered.Task;

        public static async Task<EventWatch> OpenAsync(HttpClient streams, string token, CancellationToken cancellationToken)
        {
            using var request = ClusterClients.Request(HttpMethod.Get, "/v1/events", token);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            var response = await streams.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if ((int)response.StatusCode != 200)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                response.Dispose();
                throw new InvalidOperationException($"GET /v1/events on C: {(int)response.StatusCode} {body}");
            }

            return new EventWatch(response);
        }

        /// <summary>When session.revoked arrived and its reason, or (null, null) when it did not come within <paramref name="patience"/>.</summary>
        public async Task<(long? At, string? Reason)> RevokedAsync(TimeSpan patience)
        {
            try
            {
                var (at, data) = await _revoked.Task.WaitAsync(patience);
                using var json = JsonDocument.Parse(data);
                return (at, json.RootElement.TryGetProperty("reason", out var reason) ? reason.GetString() : null);
            }
            catch (TimeoutException)
            {
                return (null, null);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _response.Dispose();
            try
            {
                await _reading.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception exception) when (exception is OperationCanceledException or TimeoutException)
            {
            }

            _stop.Dispose();
        }

        private async Task ReadAsync()
        {
            try
            {
                await using var body = await _response.Content.ReadAsStreamAsync(_stop.Token);
                using var reader = new StreamReader(body, Encoding.UTF8);
                string? name = null;
                var data = new StringBuilder();
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    if (line.Length == 0)
                    {
                        // The end of an event: stamped when its last line has been read.
                        var at = Stopwatch.GetTimestamp();
                        if (name == "session.revoked")
                        {
                            _revoked.TrySetResult((at, data.ToString()));
                        }
                        else if (name == "ping")
                        {
                            _registered.TrySetResult();
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
                        data.Append(line.AsSpan("data:".Length).TrimStart());
                    }
                }
            }
            catch (Exception exception) when (exception is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
            {
                // Closed by the server after session.revoked, or by us.
            }
        }
    }
}
