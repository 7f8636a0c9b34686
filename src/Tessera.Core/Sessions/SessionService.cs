using Microsoft.Extensions.Options;
using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.Options;
using Tessera.Core.Storage;

namespace Tessera.Core.Sessions;

/// <summary>A session as a list shows it, with its newest last-active time.</summary>
public sealed record ActiveSession(Session Session, DateTimeOffset LastActiveAt, DateTimeOffset ExpiresAt);

/// <summary>Lists and ends a user's sessions: the user's own "sign out" buttons and the admin's.</summary>
public sealed class SessionService(
    ITesseraStore store,
    AccessChanges changes,
    ActivityTracker activity,
    TimeProvider clock,
    IOptions<TesseraOptions> options)
{
    private readonly TimeSpan _idleTimeout = options.Value.Sessions.IdleTimeout;

    /// <summary>A session as lists show it, given its newest last-active time.</summary>
    public ActiveSession Describe(Session session, DateTimeOffset lastActiveAt) =>
        new(session, lastActiveAt, session.ExpiresAt(lastActiveAt, _idleTimeout));

    /// <summary>The sessions that hold, most recently active first.</summary>
    public async Task<IReadOnlyList<ActiveSession>> ListActiveAsync(string userId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        IReadOnlyList<Session> sessions;
        await using (var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false))
        {
            sessions = await read.Sessions.ListUnrevokedAsync(userId, now, cancellationToken).ConfigureAwait(false);
        }

        return sessions
            .Select(s => (Session: s, LastActiveAt: activity.LastActiveAt(s)))
            .Where(s => now < s.LastActiveAt + _idleTimeout)
            .Select(s => Describe(s.Session, s.LastActiveAt))
            .OrderByDescending(s => s.LastActiveAt)
            .ThenByDescending(s => s.Session.CreatedAt)
            .ToList();
    }

    /// <summary>
    /// Ends one session of the user; false when it is not a live session of theirs. The session is read in the revoking
    /// write transaction itself, not in a read before it: one connection and two fewer trips to the store on the path of
    /// a revoke (a not-found id costs an empty write transaction instead of a read).
    /// </summary>
    public async Task<bool> RevokeAsync(string userId, string sessionId, RevocationReason reason, Actor actor, string? ipAddress, CancellationToken cancellationToken)
    {
        if (!Ids.CanExist(sessionId))
        {
            return false;
        }

        var revoked = await changes.ApplyAsync(
            async change => IsLive(await change.Transaction.Sessions.FindByIdAsync(sessionId, cancellationToken).ConfigureAwait(false), userId, change.Now)
                ? await change.RevokeSessionsAsync(userId, RevocationScope.Only(sessionId), reason, actor, ipAddress, cancellationToken).ConfigureAwait(false)
                : [],
            cancellationToken).ConfigureAwait(false);
        return revoked.Count > 0;
    }

    /// <summary>
    /// Whether the session is the user's and still holds by its own times. The store can tell revocation and the absolute
    /// end, but not the idle end: its last-active time lags the one this node keeps in memory (written behind), so a
    /// session that ran idle would otherwise be "revoked" and answered as found.
    /// </summary>
    private bool IsLive(Session? session, string userId, DateTimeOffset now) =>
        session is not null
        && session.UserId == userId
        && !session.IsRevoked
        && now < session.ExpiresAt(activity.LastActiveAt(session), _idleTimeout);

    /// <summary>Ends the sessions of the user that <paramref name="scope"/> selects; returns how many.</summary>
    public async Task<int> RevokeAsync(string userId, RevocationScope scope, RevocationReason reason, Actor actor, string? ipAddress, CancellationToken cancellationToken)
    {
        var revoked = await changes.ApplyAsync(
            change => change.RevokeSessionsAsync(userId, scope, reason, actor, ipAddress, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        return revoked.Count;
    }
}
