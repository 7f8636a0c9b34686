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
        if (context.Features.Get<TesseraRequestFeature>() is not { Authority: { } authority, Verdict: { } verdict } feature)
        {
            return null;
        }

        if (feature.Session is { } existing)
        {
            return existing;
        }

        var introspection = verdict.Introspection;
        var session = authority.Track(introspection.Sid!, introspection.Sub!, feature.Token, verdict);
        feature.Session = session;
        context.Response.RegisterForDispose(new Untrack(authority, session));
        return session;
    }

    /// <summary>
    /// The verdict the Tessera scheme reached for this request's token, active or refused (from its
    /// <see cref="ITesseraVerdictSource"/>); null when the request was not authenticated with Tessera or carried no token.
    /// </summary>
    public static TesseraVerdict? GetTesseraVerdict(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<TesseraRequestFeature>()?.PublicVerdict;
    }

    /// <summary>
    /// Accepts the WebSocket and runs <paramref name="run"/> with a token cancelled when the session ends or the client
    /// leaves. When the session ends, the socket is closed with <see cref="TesseraDefaults.SessionEndedCloseStatus"/> and
    /// the reason code as the description first, and only then is the token cancelled: a send or receive cancelled by
    /// it aborts the socket (as every .NET WebSocket does), and the client has the close frame already. Call it on a
    /// request the Tessera scheme authenticated.
    /// </summary>
    public static async Task RunTesseraWebSocketAsync(this HttpContext context, Func<WebSocket, CancellationToken, Task> run)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(run);
        var session = context.GetTesseraSession()
            ?? throw new InvalidOperationException("The request is not signed in with Tessera: require authorization on the WebSocket endpoint.");
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var closing = Task.CompletedTask;
        using (session.Ended.Register(() => closing = CloseThenStopAsync(socket, session, running.Task, stop)))
        {
            try
            {
                await run(socket, stop.Token);
            }
            catch (Exception exception) when ((stop.IsCancellationRequested || session.HasEnded) && exception is OperationCanceledException or WebSocketException)
            {
                // The session ended (a send after the close frame fails) or the client left: closed below.
            }
            finally
            {
                running.TrySetResult();
            }
        }

        await closing;
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
    /// reason code (<c>user_banned</c>, <c>signed_out</c>, …) as the description (at most 123 bytes, as RFC 6455 allows),
    /// then waits a moment for the client's answer. Nothing is received meanwhile by anyone else: stop your own receive
    /// loop first (a receive cancelled afterwards aborts the socket, which is fine once the close frame is out).
    /// </summary>
    public static async Task CloseForEndedSessionAsync(this WebSocket socket, TesseraSession session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(session);
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync((WebSocketCloseStatus)TesseraDefaults.SessionEndedCloseStatus,
                    CloseDescription(session.EndReason ?? TesseraSession.UnknownEndReason), patience.Token);
            }

            // The client's close frame completes the handshake; anything it still sends before it is dropped.
            var buffer = new byte[256];
            while (socket.State == WebSocketState.CloseSent)
            {
                await socket.ReceiveAsync(buffer, patience.Token);
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    /// <summary>
    /// The close frame first, so that the client learns why; then a moment for the app's loop to end by itself (its
    /// receive gets the client's answering close frame), and only then its token is cancelled: a receive cancelled while
    /// pending aborts the connection, and an aborted connection can lose the close frame on its way to the client.
    /// </summary>
    private static async Task CloseThenStopAsync(WebSocket socket, TesseraSession session, Task running, CancellationTokenSource stop)
    {
        try
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync((WebSocketCloseStatus)TesseraDefaults.SessionEndedCloseStatus,
                    CloseDescription(session.EndReason ?? TesseraSession.UnknownEndReason), patience.Token);
            }

            await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(1), patience.Token));
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client is gone already.
        }
        finally
        {
            try
            {
                await stop.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // The app's loop ended by itself meanwhile.
            }
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
