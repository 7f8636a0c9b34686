using Tessera.Core.Users;

namespace Tessera.Core.Sessions;

public enum SessionVerdictKind
{
    /// <summary>The session holds.</summary>
    Valid,

    /// <summary>No such session: missing, malformed or unknown token.</summary>
    Unauthenticated,

    Revoked,
    Expired,
    AccountDeactivated,
    AccountBanned,
    AccountDeleted,
}

/// <summary>The answer to "does this session hold?", with what a client needs to know when it does not.</summary>
public readonly record struct SessionVerdict(SessionVerdictKind Kind, RevocationReason? Reason = null, DateTimeOffset? BannedUntil = null)
{
    public static readonly SessionVerdict Valid = new(SessionVerdictKind.Valid);
    public static readonly SessionVerdict Unauthenticated = new(SessionVerdictKind.Unauthenticated);
    public static readonly SessionVerdict Expired = new(SessionVerdictKind.Expired);

    public bool Holds => Kind == SessionVerdictKind.Valid;

    /// <summary>The reason to give a connected client whose session stopped holding.</summary>
    public string EndedReasonName => Kind switch
    {
        SessionVerdictKind.Revoked when Reason is { } reason => reason.ToWireName(),
        SessionVerdictKind.AccountDeactivated => RevocationReason.UserDeactivated.ToWireName(),
        SessionVerdictKind.AccountBanned => RevocationReason.UserBanned.ToWireName(),
        SessionVerdictKind.AccountDeleted => RevocationReason.UserDeleted.ToWireName(),
        SessionVerdictKind.Expired => "session_expired",
        _ => RevocationReason.TokenRevoked.ToWireName(),
    };

    /// <summary>A sentence for the person whose session stopped holding.</summary>
    public string EndedMessage => Kind switch
    {
        SessionVerdictKind.Revoked when Reason is { } reason => reason.Describe(),
        SessionVerdictKind.AccountDeactivated => RevocationReason.UserDeactivated.Describe(),
        SessionVerdictKind.AccountBanned when BannedUntil is { } until =>
            $"Your account is banned until {until.UtcDateTime:yyyy-MM-dd HH:mm} UTC.",
        SessionVerdictKind.AccountBanned => RevocationReason.UserBanned.Describe(),
        SessionVerdictKind.AccountDeleted => RevocationReason.UserDeleted.Describe(),
        SessionVerdictKind.Expired => "Your session has expired. Please sign in again.",
        _ => "Your session has ended.",
    };
}

/// <summary>
/// The one rule for when a session holds: not revoked, not past its idle or absolute expiry, and its user
/// active, not deleted and not banned (no ban, or a ban whose end has passed). The user's state comes first
/// because it is what a person needs to be told ("your account is banned"), even for an already-revoked session.
/// </summary>
public static class SessionRule
{
    public static SessionVerdict Evaluate(Session session, DateTimeOffset lastActiveAt, User user, DateTimeOffset now, TimeSpan idleTimeout) =>
        Evaluate(session.RevokedAt is not null, session.RevokeReason, session.AbsoluteExpiresAt, lastActiveAt, user, now, idleTimeout);

    /// <summary>The same rule over the few fields of a session it reads (what the node cache keeps of one).</summary>
    public static SessionVerdict Evaluate(
        bool revoked, RevocationReason? revokeReason, DateTimeOffset absoluteExpiresAt, DateTimeOffset lastActiveAt, User user, DateTimeOffset now, TimeSpan idleTimeout)
    {
        if (user.Status == UserStatus.Deleted)
        {
            return new(SessionVerdictKind.AccountDeleted, revokeReason);
        }

        if (user.Status == UserStatus.Deactivated)
        {
            return new(SessionVerdictKind.AccountDeactivated, revokeReason);
        }

        if (user.IsBannedAt(now))
        {
            return new(SessionVerdictKind.AccountBanned, revokeReason, user.BannedUntil);
        }

        if (revoked)
        {
            return new(SessionVerdictKind.Revoked, revokeReason ?? RevocationReason.TokenRevoked);
        }

        if (now >= absoluteExpiresAt || now >= lastActiveAt + idleTimeout)
        {
            return SessionVerdict.Expired;
        }

        return SessionVerdict.Valid;
    }
}
