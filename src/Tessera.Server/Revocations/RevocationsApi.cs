using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Tessera.Core;
using Tessera.Core.Clients;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Server.Http;
using Tessera.Server.OAuth;

namespace Tessera.Server.Revocations;

/// <summary>
/// <c>GET /v1/revocations</c>, the revocation stream that relying apps follow (Server-Sent Events), and
/// <c>POST /v1/revocations/ack</c>, their acknowledgements. Both take a service client with the <c>revocations</c> scope by
/// HTTP Basic (<c>client_secret_basic</c>), and refuse with problems. The contract is <c>docs/relying-apps.md</c>.
/// </summary>
internal static class RevocationsApi
{
    /// <summary>Stream ids are <c>{node}~</c> and 22 characters; anything much longer names no stream.</summary>
    private const int MaxStreamIdLength = 200;

    /// <summary>What a client refused for too many streams is told to wait: about how long a dropped connection takes to be noticed.</summary>
    private static readonly TimeSpan RetryAfterTooManyStreams = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapRevocationsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/revocations").WithTags("Revocations");
        group.MapGet("/", StreamAsync)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/ack", AcknowledgeAsync)
            .Accepts<AcknowledgeRequest>("application/json")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> StreamAsync(
        HttpContext httpContext, ServiceClients clients, RevocationStreams streams, IInvalidationBus bus, TimeProvider clock)
    {
        // Heartbeats' elapsed counts from here: the app's own anchor, taken before it sent the request, is earlier.
        var receivedAt = clock.GetTimestamp();
        var (client, secretHash, refusal) = await AuthenticateAsync(httpContext, clients);
        if (refusal is not null)
        {
            return refusal;
        }

        var stream = new RevocationStream($"{bus.NodeId}~{Base64UrlRandom()}", client!.Id, secretHash, receivedAt);
        if (!streams.TryOpen(stream))
        {
            throw TesseraException.RateLimited(RetryAfterTooManyStreams,
                "Too many revocation streams are open for this client on this node; close one and connect again.");
        }

        // Whenever and however the response ends, even before its first event.
        httpContext.Response.OnCompleted(() =>
        {
            streams.Closed(stream);
            return Task.CompletedTask;
        });

        var lastEventId = httpContext.Request.Headers["Last-Event-ID"] is { Count: 1 } header ? header[0] : null;
        var start = streams.Start(stream, lastEventId);

        // Proxies must pass each event on as it is written.
        httpContext.Response.Headers.CacheControl = "no-cache";
        httpContext.Response.Headers["X-Accel-Buffering"] = "no";
        return TypedResults.ServerSentEvents(RunAsync(streams, stream, start, bus.ConvergenceWindow, clock, httpContext.StreamAborted()));
    }

    private static async IAsyncEnumerable<SseItem<string>> RunAsync(
        RevocationStreams streams, RevocationStream stream, RevocationStart start, TimeSpan settle, TimeProvider clock,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var log = streams.Log;
        try
        {
            if (start.ResetReason is { } reason)
            {
                yield return Reset(log, start.Sequence, reason);
            }
            else if (start.Replay.Count > 0)
            {
                streams.Delivering(stream, start.Replay[^1].Sequence);
                foreach (var entry in start.Replay)
                {
                    yield return Event(log, entry);
                }
            }

            yield return new SseItem<string>(
                JsonSerializer.Serialize(new
                {
                    stream = stream.Id,
                    lease = (long)streams.Lease.TotalMilliseconds,
                    heartbeat = (long)streams.Heartbeat.TotalMilliseconds,
                    settle = (long)settle.TotalMilliseconds,
                }),
                "hello");

            // The first heartbeat at once, so that the app has a lease as soon as it can.
            var nextHeartbeat = clock.GetTimestamp();
            var heartbeatTicks = (long)(streams.Heartbeat.TotalSeconds * clock.TimestampFrequency);
            while (!cancellationToken.IsCancellationRequested)
            {
                while (stream.Signals.TryRead(out _))
                {
                }

                // Trust first: a reset owed since the cache was distrusted is appended now and written before the heartbeat.
                var canVouch = streams.CanVouch(out var resets);
                var read = log.ReadAfter(stream.Delivered);
                if (read.Entries is not { } entries)
                {
                    // Fell behind what the log keeps (a storm, a stalled reader): start over from the head.
                    var head = log.Head;
                    streams.Delivering(stream, head);
                    yield return Reset(log, head, RevocationLog.Gap);
                }
                else if (entries.Count > 0)
                {
                    streams.Delivering(stream, entries[^1].Sequence);
                    foreach (var entry in entries)
                    {
                        yield return Event(log, entry);
                    }
                }

                if (stream.ClosedCode is { } code)
                {
                    yield return new SseItem<string>(JsonSerializer.Serialize(new { code }), "closed");
                    yield break;
                }

                var now = clock.GetTimestamp();
                if (now >= nextHeartbeat)
                {
                    var granted = canVouch && streams.StillVouches(resets);
                    streams.HeartbeatWriting(stream, now, granted);
                    nextHeartbeat = now + heartbeatTicks;
                    yield return new SseItem<string>(
                        JsonSerializer.Serialize(new
                        {
                            elapsed = (long)clock.GetElapsedTime(stream.ReceivedAt, now).TotalMilliseconds,
                            lease = granted ? (long)streams.Lease.TotalMilliseconds : 0L,
                        }),
                        "heartbeat");
                }

                await WaitForSignalAsync(stream, clock.GetElapsedTime(clock.GetTimestamp(), nextHeartbeat), clock, cancellationToken);
            }
        }
        finally
        {
            streams.Closed(stream);
        }
    }

    private static async Task<IResult> AcknowledgeAsync(HttpContext httpContext, ServiceClients clients, IInvalidationBus bus, IOptions<JsonOptions> json)
    {
        var (client, _, refusal) = await AuthenticateAsync(httpContext, clients);
        if (refusal is not null)
        {
            return refusal;
        }

        var request = httpContext.Request;
        if (request.ContentType is null && request.ContentLength is null or 0)
        {
            return Problems.Validation("body", "Send {\"stream\", \"through\"} as JSON.");
        }

        if (!request.HasJsonContentType())
        {
            return Problems.Create(ErrorCatalog.UnsupportedMediaType, "Send the body as application/json.");
        }

        AcknowledgeRequest? body;
        try
        {
            body = await request.ReadFromJsonAsync<AcknowledgeRequest>(json.Value.SerializerOptions, httpContext.RequestAborted);
        }
        catch (JsonException)
        {
            return Problems.Create(ErrorCodes.ValidationFailed, "The body is not valid JSON for this request: send {\"stream\": \"…\", \"through\": 123}.");
        }

        if (body is null)
        {
            return Problems.Validation("body", "Send {\"stream\", \"through\"} as JSON.");
        }

        if (string.IsNullOrEmpty(body.Stream) || body.Stream.Length > MaxStreamIdLength)
        {
            return Problems.Validation("stream", "stream is the id the hello event gave.");
        }

        if (body.Through is not { } through || through < 0)
        {
            return Problems.Validation("through", "through is the sequence (the number after the dot) of the last event id applied: a whole number, 0 or more.");
        }

        return await bus.AcknowledgeAsync(body.Stream, client!.Id, through, httpContext.RequestAborted)
            ? TypedResults.NoContent()
            : Problems.NotFound("The stream (it has ended; connect again)");
    }

    /// <summary>
    /// The client by HTTP Basic, with failures throttled per address as at <c>/oauth2</c>: 401 <c>invalid_client</c> (with
    /// the Basic challenge) for missing, unknown, wrong or disabled credentials, 403 <c>insufficient_scope</c> without
    /// <c>revocations</c>, 429 while the address waits.
    /// </summary>
    private static async Task<(ServiceClient? Client, TokenHash SecretHash, IResult? Refusal)> AuthenticateAsync(HttpContext httpContext, ServiceClients clients)
    {
        var credentials = ClientCredentials.Read(httpContext.Request, FormCollection.Empty);
        var authentication = await clients.AuthenticateAsync(credentials.ClientId, credentials.Secret, httpContext.ClientIp(), httpContext.RequestAborted);
        if (authentication.RetryAfter is { } wait)
        {
            throw TesseraException.RateLimited(wait, "Too many failed client authentications from this address; wait before trying again.");
        }

        if (authentication.Client is not { } client || !SecretTokens.TryHash(credentials.Secret, out var secretHash))
        {
            httpContext.Response.Headers.WWWAuthenticate = OAuthErrors.BasicChallenge;
            return (null, default, Problems.Create(ErrorCodes.InvalidClient, credentials.Present
                ? "The client is unknown or disabled, or its secret is wrong."
                : "Authenticate the service client with HTTP Basic (its id and secret)."));
        }

        if (!client.HasScope(ClientScopes.Revocations))
        {
            return (null, default, Problems.Create(ErrorCodes.InsufficientScope, $"The client does not have the scope '{ClientScopes.Revocations}'."));
        }

        return (client, secretHash, null);
    }

    /// <summary>Waits for a signal or until <paramref name="untilHeartbeat"/> has passed.</summary>
    private static async Task WaitForSignalAsync(RevocationStream stream, TimeSpan untilHeartbeat, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (untilHeartbeat <= TimeSpan.Zero)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(untilHeartbeat, clock, timeout.Token);
        var signal = stream.Signals.WaitToReadAsync(timeout.Token).AsTask();
        await Task.WhenAny(signal, delay);
        await timeout.CancelAsync();
    }

    private static SseItem<string> Event(RevocationLog log, RevocationEntry entry) =>
        entry.Revoked is { } revoked
            ? new SseItem<string>(
                JsonSerializer.Serialize(new
                {
                    userId = revoked.UserId,
                    sessionIds = revoked.SessionIds,
                    reason = revoked.Reason?.ToWireName(),
                    userChanged = revoked.UserChanged,
                }),
                "revoked") { EventId = log.IdOf(entry.Sequence) }
            : Reset(log, entry.Sequence, entry.ResetReason!);

    private static SseItem<string> Reset(RevocationLog log, long sequence, string reason) =>
        new(JsonSerializer.Serialize(new { reason }), "reset") { EventId = log.IdOf(sequence) };

    private static string Base64UrlRandom() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
}

/// <summary>An app's acknowledgement: it has applied every event of <see cref="Stream"/> through sequence <see cref="Through"/>.</summary>
internal sealed record AcknowledgeRequest(
    string? Stream,
    [property: JsonNumberHandling(JsonNumberHandling.Strict)] long? Through);
