namespace Tessera.Client;

/// <summary>What a <see cref="SessionWatcher"/> knows about the session right now.</summary>
public enum SessionWatcherState
{
    /// <summary>Opening the event stream (at start, or again after it was closed by the server).</summary>
    Connecting,

    /// <summary>The event stream is open: an end of the session anywhere is known within a round trip.</summary>
    Live,

    /// <summary>The stream cannot be held here (refused again and again, or not served): checking the session at intervals while in the foreground.</summary>
    Polling,

    /// <summary>Tessera cannot be reached. The session still stands as far as anyone here knows; the watcher keeps trying.</summary>
    Offline,

    /// <summary>The server said the session is over; the token is cleared and <see cref="SessionWatcher.SessionEnded"/> was raised.</summary>
    Ended,

    /// <summary>No token is stored (never signed in, or signed out from this app).</summary>
    SignedOut,
}

/// <summary>The session ended, as the server told it.</summary>
public sealed class SessionEndedEventArgs : EventArgs
{
    public SessionEndedEventArgs(string reason, string sentence, DateTimeOffset? bannedUntil)
    {
        Reason = reason;
        Sentence = sentence;
        BannedUntil = bannedUntil;
    }

    /// <summary>The revocation reason: <c>signed_out_all_devices</c>, <c>revoked_by_user</c>, <c>password_changed</c>, <c>user_banned</c>, <c>session_expired</c>, …</summary>
    public string Reason { get; }

    /// <summary>The server's sentence for a person ("Your session was ended from another device."): show it as it is.</summary>
    public string Sentence { get; }

    /// <summary>For a ban with an end: when it ends, where the server said so.</summary>
    public DateTimeOffset? BannedUntil { get; }
}

/// <summary>A change of <see cref="SessionWatcher.State"/>.</summary>
public sealed class SessionWatcherStateChangedEventArgs : EventArgs
{
    public SessionWatcherStateChangedEventArgs(SessionWatcherState previous, SessionWatcherState current)
    {
        Previous = previous;
        Current = current;
    }

    public SessionWatcherState Previous { get; }

    public SessionWatcherState Current { get; }
}

/// <summary>How a <see cref="SessionWatcher"/> waits and when it gives up on the stream.</summary>
public sealed class SessionWatcherOptions
{
    /// <summary>The first wait before reconnecting; it doubles at each failure in a row, up to <see cref="MaxBackoff"/>, each wait jittered.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two attempts: how late, at worst, a watcher learns that the network is back without being told.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A stream with no event for this long is dead (the server pings every 20 s): reconnect.</summary>
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(50);

    /// <summary>How many refusals of the stream in a row (429, or an answer that is not a stream) before falling back to polling.</summary>
    public int RefusalsBeforePolling { get; set; } = 3;

    /// <summary>While polling (and in the foreground), the time between two checks of the session.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>While polling, how often the stream is tried again.</summary>
    public TimeSpan StreamRetryWhilePolling { get; set; } = TimeSpan.FromMinutes(5);
}
