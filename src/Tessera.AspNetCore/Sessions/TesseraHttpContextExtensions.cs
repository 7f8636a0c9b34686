using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Tessera.AspNetCore;

/// <summary>The session behind a request, and the WebSocket close that tells a client its session ended.</summary>
public static class TesseraHttpContextExtensions
{
    /// <summary>
    /// The Tessera session of a request the Tessera scheme authenticated, followed until the request ends; null when the
    /// request is not signed in with Tessera. Its <see cref="TesseraSession.Ended"/> fires when Tessera ends the session.
    /// </summary>
    public static TesseraSession? GetTesseraSession(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<TesseraRequestFeature>() is not { } feature)
        {
            return null;
        }

        if (feature.Session is { } existing)
        {
            return existing;
        }

        var introspection = feature.Verdict.Introspection;
        var session = feature.Authority.Track(introspection.Sid!, introspection.Sub!, feature.Token, feature.Verdict);
        feature.Session = session;
        context.Response.RegisterForDispose(new Untrack(feature.Authority, session));
        return session;
    }

    /// <summary>
    /// Accepts the WebSocket and runs <paramref name="run"/> with a token cancelled when the session ends or the client
    /// leaves; when the session ended, closes the socket with <see cref="TesseraDefaults.SessionEndedCloseStatus"/> and
    /// the reason code as the description. Call it on a request the Tessera scheme authenticated.
    /// </summary>
    public static async Task RunTesseraWebSocketAsync(this HttpContext context, Func<WebSocket, CancellationToken, Task> run)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(run);
        var session = context.GetTesseraSession()
            ?? throw new InvalidOperationException("The request is not signed in with Tessera: require authorization on the WebSocket endpoint.");
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var both = CancellationTokenSource.CreateLinkedTokenSource(session.Ended, context.RequestAborted);
        try
        {
            await run(socket, both.Token);
        }
        catch (OperationCanceledException) when (both.IsCancellationRequested)
        {
            // The session ended or the client left: closed below.
        }
        catch (WebSocketException) when (both.IsCancellationRequested)
        {
            // A send cut short by the end of the session.
        }

        if (session.HasEnded)
        {
            await socket.CloseForEndedSessionAsync(session, context.RequestAborted);
        }
        else if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
        }
    }

    /// <summary>
    /// Closes a WebSocket because its session ended: status <see cref="TesseraDefaults.SessionEndedCloseStatus"/>, the
    /// reason code (<c>user_banned</c>, <c>signed_out</c>, …) as the description (at most 123 bytes, as RFC 6455 allows).
    /// </summary>
    public static async Task CloseForEndedSessionAsync(this WebSocket socket, TesseraSession session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(session);
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        // The close handshake waits for the client's answer, for a moment: a client that does not answer is cut off.
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await socket.CloseAsync((WebSocketCloseStatus)TesseraDefaults.SessionEndedCloseStatus,
                CloseDescription(session.EndReason ?? TesseraSession.UnknownEndReason), patience.Token);
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    /// <summary>The reason cut to 123 bytes of UTF-8 without splitting a character.</summary>
    internal static string CloseDescription(string reason)
    {
        const int limit = 123;
        if (Encoding.UTF8.GetByteCount(reason) <= limit)
        {
            return reason;
        }

        var length = reason.Length;
        while (Encoding.UTF8.GetByteCount(reason.AsSpan(0, length)) > limit || (length > 0 && char.IsHighSurrogate(reason[length - 1])))
        {
            length--;
        }

        return reason[..length];
    }

    private sealed class Untrack(Verdicts.TesseraAuthority authority, TesseraSession session) : IDisposable
    {
        public void Dispose()
        {
            authority.Untrack(session);
            session.Dispose();
        }
    }
}
