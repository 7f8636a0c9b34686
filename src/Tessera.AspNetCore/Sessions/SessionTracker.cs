namespace Tessera.AspNetCore.Sessions;

/// <summary>
/// The sessions behind the app's open requests that asked for <see cref="TesseraSession"/> (WebSockets, SSE streams),
/// by session and by user, so that an event ends exactly those.
/// </summary>
internal sealed class SessionTracker
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<TesseraSession>> _bySession = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _byUser = new(StringComparer.Ordinal);

    public void Add(TesseraSession session)
    {
        lock (_lock)
        {
            if (!_bySession.TryGetValue(session.SessionId, out var list))
            {
                _bySession[session.SessionId] = list = [];
            }

            list.Add(session);
            if (!_byUser.TryGetValue(session.UserId, out var sessions))
            {
                _byUser[session.UserId] = sessions = new HashSet<string>(StringComparer.Ordinal);
            }

            sessions.Add(session.SessionId);
        }
    }

    public void Remove(TesseraSession session)
    {
        lock (_lock)
        {
            if (!_bySession.TryGetValue(session.SessionId, out var list) || !list.Remove(session) || list.Count > 0)
            {
                return;
            }

            _bySession.Remove(session.SessionId);
            if (_byUser.TryGetValue(session.UserId, out var sessions) && sessions.Remove(session.SessionId) && sessions.Count == 0)
            {
                _byUser.Remove(session.UserId);
            }
        }
    }

    /// <summary>Every open request of one session.</summary>
    public TesseraSession[] OfSession(string sessionId)
    {
        lock (_lock)
        {
            return _bySession.TryGetValue(sessionId, out var list) ? [.. list] : [];
        }
    }

    /// <summary>Every open request of the user's sessions.</summary>
    public TesseraSession[] OfUser(string userId)
    {
        lock (_lock)
        {
            return _byUser.TryGetValue(userId, out var sessions) ? [.. sessions.SelectMany(sid => _bySession[sid])] : [];
        }
    }

    public TesseraSession[] All()
    {
        lock (_lock)
        {
            return [.. _bySession.Values.SelectMany(list => list)];
        }
    }
}
