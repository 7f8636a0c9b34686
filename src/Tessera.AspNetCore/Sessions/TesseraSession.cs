namespace Tessera.AspNetCore;

/// <summary>
/// The Tessera session behind the current request, for work that outlives a single answer (a WebSocket, an SSE stream,
/// a long poll): <see cref="Ended"/> is cancelled the moment Tessera ends the session, for any cause, with
/// <see cref="EndReason"/> set first. Get it with <c>HttpContext.GetTesseraSession()</c>; it is followed until the request ends.
/// </summary>
public sealed class TesseraSession : IDisposable
{
    /// <summary>The reason given when a session is found ended by a re-check that Tessera did not say the reason of.</summary>
    public const string UnknownEndReason = "session_ended";

    private readonly CancellationTokenSource _ended = new();
    private string? _endReason;

    internal TesseraSession(string sessionId, string userId, string token)
    {
        SessionId = sessionId;
        UserId = userId;
        Token = token;
    }

    /// <summary>Tessera's session id (<c>ses_…</c>, the <c>sid</c> claim).</summary>
    public string SessionId { get; }

    /// <summary>Tessera's user id (<c>usr_…</c>, the <c>sub</c> claim).</summary>
    public string UserId { get; }

    /// <summary>Cancelled when the session ends at Tessera (not when the request ends: link it with <c>RequestAborted</c>).</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>
    /// Why the session ended, once it has: Tessera's revocation reason (<c>user_banned</c>, <c>signed_out</c>,
    /// <c>password_changed</c>, …), or <see cref="UnknownEndReason"/> when a re-check found it no longer holds.
    /// </summary>
    public string? EndReason => Volatile.Read(ref _endReason);

    /// <summary>Whether the session has ended.</summary>
    public bool HasEnded => EndReason is not null;

    internal string Token { get; }

    /// <summary>Ends it once: the reason first, then the token (whose callbacks may read the reason).</summary>
    internal void End(string? reason)
    {
        if (Interlocked.CompareExchange(ref _endReason, reason ?? UnknownEndReason, null) is not null)
        {
            return;
        }

        try
        {
            _ended.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The request ended meanwhile; nobody is listening any more.
        }
        catch (AggregateException)
        {
            // A callback of the app threw; the session is ended all the same, and the other callbacks have run.
        }
    }

    public void Dispose() => _ended.Dispose();
}
