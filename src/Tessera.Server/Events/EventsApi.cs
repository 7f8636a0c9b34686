using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http.HttpResults;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Tessera.Core;
using Tessera.Core.Diagnostics;
using Tessera.Core.Sessions;
using Tessera.Server.Authentication;
using Tessera.Server.Http;

namespace Tessera.Server.Events;

/// <summary>
/// /v1/events: a Server-Sent Events stream per session. It sends <c>ping</c> on connect and every 20 seconds,
/// and <c>session.revoked</c> with the reason and a sentence for the person as soon as the session stops holding,
/// then closes.
/// </summary>
internal static class EventsApi
{
    public static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(20);

    /// <summary>What a client refused for too many open streams is told to wait: about how long a closed tab takes to be noticed.</summary>
    private static readonly TimeSpan RetryAfterTooManyStreams = TimeSpan.FromSeconds(30);

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGroup("/v1/events").WithTags("Events").RequireSession().MapGet("/", Stream);
        return endpoints;
    }

    private static ServerSentEventsResult<string> Stream(
        CurrentSession current, EventStreamRegistry registry, SessionValidator validator, TesseraMetrics metrics, TimeProvider clock, HttpContext httpContext)
    {
        var stream = new EventStream(current.Session.Id, current.User.Id);
        if (!registry.TryAdd(stream))
        {
            throw TesseraException.RateLimited(RetryAfterTooManyStreams,
                "Too many event streams are open for this session or account; close one (a tab or an app) and connect again.");
        }

        // Whenever and however the response ends, even before its first event.
        httpContext.Response.OnCompleted(() =>
        {
            registry.Remove(stream);
            return Task.CompletedTask;
        });

        // Proxies must pass each event on as it is written.
        httpContext.Response.Headers.CacheControl = "no-cache";
        httpContext.Response.Headers["X-Accel-Buffering"] = "no";
        return TypedResults.ServerSentEvents(RunAsync(stream, current.Token, validator, metrics, clock, httpContext.StreamAborted()));
    }

    private static async IAsyncEnumerable<SseItem<string>> RunAsync(
        EventStream stream, string token, SessionValidator validator, TesseraMetrics metrics, TimeProvider clock,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        metrics.EventStreamOpened();
        try
        {
            // A revocation between the request's check and the registration above sent no signal: look once more.
            var signalled = true;
            stream.Signal();

            // Pings keep a fixed schedule from the clock, so time that passes while the stream is busy counts too.
            var nextPing = clock.GetUtcNow() + PingInterval;
            yield return Ping(clock);
            while (!cancellationToken.IsCancellationRequested)
            {
                if (!signalled)
                {
                    signalled = await WaitForSignalAsync(stream, nextPing - clock.GetUtcNow(), clock, cancellationToken);
                }

                // Signalled or not, look again: after an invalidation the cache has dropped the session, so this reads
                // the store and tells exactly why it ended; on a ping tick it is a cache hit that catches expiry.
                while (stream.Signals.TryRead(out _))
                {
                }

                // Watching is not using: a forgotten tab must not keep an idle session alive.
                var verdict = (await validator.CheckAsync(token, SessionUse.Watch, cancellationToken)).Verdict;
                if (!verdict.Holds)
                {
                    yield return Revoked(stream.SessionId, verdict);
                    yield break;
                }

                if (!signalled)
                {
                    nextPing = clock.GetUtcNow() + PingInterval;
                    yield return Ping(clock);
                }

                signalled = false;
            }
        }
        finally
        {
            metrics.EventStreamClosed();
        }
    }

    /// <summary>Waits for a signal (true) or until <paramref name="untilPing"/> has passed (false).</summary>
    private static async Task<bool> WaitForSignalAsync(EventStream stream, TimeSpan untilPing, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (untilPing <= TimeSpan.Zero)
        {
            return stream.Signals.TryPeek(out _);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(untilPing, clock, timeout.Token);
        var signal = stream.Signals.WaitToReadAsync(timeout.Token).AsTask();
        var first = await Task.WhenAny(signal, delay);
        await timeout.CancelAsync();
        return first == signal && !signal.IsCanceled && signal.Result;
    }

    private static SseItem<string> Ping(TimeProvider clock) =>
        new(JsonSerializer.Serialize(new { at = clock.GetUtcNow().UtcDateTime }), "ping");

    private static SseItem<string> Revoked(string sessionId, SessionVerdict verdict) =>
        new(JsonSerializer.Serialize(new { sessionId, reason = verdict.EndedReasonName, message = verdict.EndedMessage }), "session.revoked");
}
