using Microsoft.Extensions.Options;
using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.ExternalLogin;
using Tessera.Core.Options;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Core.Administration;

/// <summary>The admin's decisions about users. Each one ends the sessions it must and holds on the very next request.</summary>
public sealed class UserAdministration(
    ITesseraStore store,
    AccessChanges changes,
    SessionService sessions,
    TimeProvider clock,
    IOptions<TesseraOptions> options,
    IProviderTokenRevoker providerTokens)
{
    private readonly TimeSpan _recentSignIn = options.Value.Admin.RecentSignIn;

    public const int MaxReasonLength = 500;
    public const int MaxBulkUsers = 1000;

    public async Task<(User User, int ActiveSessions)> GetAsync(string userId, CancellationToken cancellationToken)
    {
        var user = await FindAsync(userId, cancellationToken).ConfigureAwait(false);
        var active = await sessions.ListActiveAsync(userId, cancellationToken).ConfigureAwait(false);
        return (user, active.Count);
    }

    public async Task<UserPage> SearchAsync(
        string? text, UserStatusFilter? status, int page, int pageSize, CancellationToken cancellationToken, UserSort sort = UserSort.OldestFirst)
    {
        await using var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false);
        return await read.Users.SearchAsync(new UserSearch(text, status, page, pageSize, clock.GetUtcNow(), sort), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ActiveSession>> ListSessionsAsync(string userId, CancellationToken cancellationToken)
    {
        await FindAsync(userId, cancellationToken).ConfigureAwait(false);
        return await sessions.ListActiveAsync(userId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> RevokeSessionsAsync(Actor admin, string userId, string? ipAddress, CancellationToken cancellationToken)
    {
        await FindAsync(userId, cancellationToken).ConfigureAwait(false);
        return await sessions.RevokeAsync(userId, RevocationScope.All, RevocationReason.RevokedByAdmin, admin, ipAddress, cancellationToken).ConfigureAwait(false);
    }

    public async Task RevokeSessionAsync(Actor admin, string userId, string sessionId, string? ipAddress, CancellationToken cancellationToken)
    {
        await FindAsync(userId, cancellationToken).ConfigureAwait(false);
        if (!await sessions.RevokeAsync(userId, sessionId, RevocationReason.RevokedByAdmin, admin, ipAddress, cancellationToken).ConfigureAwait(false))
        {
            throw TesseraException.NotFound("The session");
        }
    }

    /// <summary>
    /// A live session by its id alone, with its user: what an operator holding only a session id (from a log, a
    /// support ticket) needs to see before ending it. Not found unless it is live (not revoked, within its idle and
    /// absolute ends), as in the per-user list.
    /// </summary>
    public async Task<(User User, ActiveSession Session)> GetSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        var session = await FindSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        var user = await FindAsync(session.UserId, cancellationToken).ConfigureAwait(false);
        var live = (await sessions.ListActiveAsync(session.UserId, cancellationToken).ConfigureAwait(false)).FirstOrDefault(s => s.Session.Id == sessionId)
            ?? throw TesseraException.NotFound("The session");
        return (user, live);
    }

    /// <summary>Ends a live session named by its id alone (reason <c>revoked_by_admin</c>, audited as the per-user route is); returns its user's id.</summary>
    public async Task<string> RevokeSessionAsync(Actor admin, string sessionId, string? ipAddress, CancellationToken cancellationToken)
    {
        var session = await FindSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (!await sessions.RevokeAsync(session.UserId, sessionId, RevocationReason.RevokedByAdmin, admin, ipAddress, cancellationToken).ConfigureAwait(false))
        {
            throw TesseraException.NotFound("The session");
        }

        return session.UserId;
    }

    private async Task<Session> FindSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        if (!Ids.CanExist(sessionId))
        {
            throw TesseraException.NotFound("The session");
        }

        await using var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false);
        return await read.Sessions.FindByIdAsync(sessionId, cancellationToken).ConfigureAwait(false) ?? throw TesseraException.NotFound("The session");
    }

    private static readonly Decision Deactivation = new(AuditActions.UserDeactivated, RevocationReason.UserDeactivated, ForbiddenOnSelf: true);
    private static readonly Decision Reactivation = new(AuditActions.UserReactivated, Revokes: null, ForbiddenOnSelf: false);
    private static readonly Decision Ban = new(AuditActions.UserBanned, RevocationReason.UserBanned, ForbiddenOnSelf: true);
    private static readonly Decision Unban = new(AuditActions.UserUnbanned, Revokes: null, ForbiddenOnSelf: false);
    private static readonly Decision Deletion = new(AuditActions.UserDeleted, RevocationReason.UserDeleted, ForbiddenOnSelf: true, Deletes: true);

    /// <summary>Only the sessions end (as "revoked by an admin"): no change to the user, no event of its own besides <c>session.revoked</c>.</summary>
    private static readonly Decision SessionsRevocation = new(AuditAction: null, RevocationReason.RevokedByAdmin, ForbiddenOnSelf: false, ChangesUser: false);

    public Task<UserChangeResult> DeactivateAsync(Actor admin, string userId, string? reason, string? ipAddress, CancellationToken cancellationToken) =>
        ChangeAsync(admin, userId, ipAddress, Deactivation, CheckReason(reason), Deactivated, cancellationToken);

    public Task<UserChangeResult> ReactivateAsync(Actor admin, string userId, string? ipAddress, CancellationToken cancellationToken) =>
        ChangeAsync(admin, userId, ipAddress, Reactivation, null, Reactivated, cancellationToken);

    public Task<UserChangeResult> BanAsync(Actor admin, string userId, string? reason, DateTimeOffset? until, string? ipAddress, CancellationToken cancellationToken)
    {
        if (until is { } end && end <= clock.GetUtcNow())
        {
            throw TesseraException.Validation("until", "A ban must end in the future; leave 'until' out for a ban until unbanned.");
        }

        var banReason = CheckReason(reason);
        return ChangeAsync(admin, userId, ipAddress, Ban, banReason, user => Banned(user, until, banReason), cancellationToken);
    }

    public Task<UserChangeResult> UnbanAsync(Actor admin, string userId, string? ipAddress, CancellationToken cancellationToken) =>
        ChangeAsync(admin, userId, ipAddress, Unban, null, Unbanned, cancellationToken);

    /// <summary>Soft delete: personal data replaced, password removed, every session ended. The id stays for the audit log.</summary>
    public Task<UserChangeResult> DeleteAsync(Actor admin, string userId, string? ipAddress, CancellationToken cancellationToken) =>
        ChangeAsync(admin, userId, ipAddress, Deletion, null, Deleted, cancellationToken);

    private static User Deactivated(User user) => user with { Status = UserStatus.Deactivated };

    private static User Reactivated(User user) => user with { Status = UserStatus.Active };

    private static User Banned(User user, DateTimeOffset? until, string? reason) => user with { Banned = true, BannedUntil = until, BanReason = reason };

    private static User Unbanned(User user) => user with { Banned = false, BannedUntil = null, BanReason = null };

    private static User Deleted(User user) => user with
    {
        Status = UserStatus.Deleted,
        Email = User.DeletedEmail(user.Id),
        DisplayName = "Deleted user",
        PasswordHash = null,
        Banned = false,
        BannedUntil = null,
        BanReason = null,
    };

    /// <summary>
    /// Applies one action to many users, in batches of <see cref="BulkBatchSize"/>: each batch is one transaction (its
    /// users read in one query, their sessions ended in one statement, its audit events written together) followed by
    /// one round of invalidations, so an interruption leaves every user either done or untouched, and a batch costs
    /// about what one user did. A user the action refuses (unknown, deleted, the admin themself, another admin without a
    /// recent sign-in) is checked before anything is written for them and left out, so the rest of the batch goes on.
    /// </summary>
    /// <remarks>
    /// Cancellation is looked at between batches: every batch before it is committed, audited and announced to every
    /// node; none after it is begun. A batch under way when it comes is rolled back whole.
    /// </remarks>
    public Task<IReadOnlyList<BulkResult>> BulkAsync(
        Actor admin, BulkAction action, IReadOnlyList<string> userIds, string? reason, DateTimeOffset? until, string? ipAddress, CancellationToken cancellationToken) =>
        BulkAsync(admin, action, userIds, reason, until, ipAddress, BulkBatchSize, cancellationToken);

    /// <summary>Users per transaction in <see cref="BulkAsync(Actor, BulkAction, IReadOnlyList{string}, string?, DateTimeOffset?, string?, CancellationToken)"/>.</summary>
    /// <remarks>
    /// A batch holds SQLite's one write lock while it runs (a few milliseconds for 100 users), which other writers
    /// (sign-ins, logouts) wait for; 100 keeps that wait short while the commit and the invalidation round, most of
    /// the cost of one user alone, are paid once per hundred. See docs/performance.md, "Command line bulk".
    /// </remarks>
    public const int BulkBatchSize = 100;

    internal async Task<IReadOnlyList<BulkResult>> BulkAsync(
        Actor admin, BulkAction action, IReadOnlyList<string> userIds, string? reason, DateTimeOffset? until, string? ipAddress, int batchSize,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (userIds.Count == 0 || userIds.Count > MaxBulkUsers)
        {
            throw TesseraException.Validation("userIds", $"userIds must name between 1 and {MaxBulkUsers} users.");
        }

        if (action == BulkAction.Ban && until is { } end && end <= clock.GetUtcNow())
        {
            throw TesseraException.Validation("until", "A ban must end in the future; leave 'until' out for a ban until unbanned.");
        }

        var checkedReason = CheckReason(reason);
        var (decision, auditReason, apply) = action switch
        {
            BulkAction.Deactivate => (Deactivation, checkedReason, (Func<User, User>)Deactivated),
            BulkAction.Reactivate => (Reactivation, null, Reactivated),
            BulkAction.Ban => (Ban, checkedReason, user => Banned(user, until, checkedReason)),
            BulkAction.Unban => (Unban, null, Unbanned),
            BulkAction.RevokeSessions => (SessionsRevocation, null, user => user),
            BulkAction.Delete => (Deletion, null, Deleted),
            _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
        };

        var results = new List<BulkResult>(userIds.Count);
        foreach (var batch in userIds.Distinct(StringComparer.Ordinal).Chunk(batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            results.AddRange(await ApplyBatchAsync(admin, batch, ipAddress, decision, auditReason, apply, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>One bulk batch: one transaction, one round of invalidations; a result per user, in the order given.</summary>
    private async Task<IReadOnlyList<BulkResult>> ApplyBatchAsync(
        Actor admin, string[] userIds, string? ipAddress, Decision decision, string? auditReason, Func<User, User> apply, CancellationToken cancellationToken)
    {
        var released = new List<ExternalIdentity>();
        var results = await changes.ApplyAsync(
            async change =>
            {
                var found = (await change.Transaction.Users.FindByIdsAsync(userIds.Where(Ids.CanExist).ToList(), cancellationToken).ConfigureAwait(false))
                    .ToDictionary(user => user.Id, StringComparer.Ordinal);
                var outcomes = new Dictionary<string, BulkResult>(StringComparer.Ordinal);
                var changing = new List<string>(userIds.Length);
                foreach (var userId in userIds)
                {
                    // The same checks, in the same order, as one user's decision (ChangeAsync), before anything is written for them.
                    string? refusal = null;
                    User? user = null;
                    if (decision.ForbiddenOnSelf && admin.Id == userId)
                    {
                        refusal = ErrorCodes.CannotTargetSelf;
                    }
                    else if (!found.TryGetValue(userId, out user))
                    {
                        refusal = ErrorCodes.NotFound;
                    }
                    else if (decision.ChangesUser && user.Status == UserStatus.Deleted)
                    {
                        // Deleting twice is harmless (done, nothing ended); any other decision about a deleted user is refused.
                        refusal = decision.Deletes ? null : ErrorCodes.UserDeleted;
                        if (refusal is null)
                        {
                            outcomes[userId] = new BulkResult(userId, true, 0, null);
                            continue;
                        }
                    }
                    else if (decision.ForbiddenOnSelf && user!.Role == UserRole.Admin && !SignedInRecently(admin, change.Now))
                    {
                        refusal = ErrorCodes.ReauthenticationRequired;
                    }

                    if (refusal is not null)
                    {
                        outcomes[userId] = new BulkResult(userId, false, 0, refusal);
                        continue;
                    }

                    if (decision.ChangesUser)
                    {
                        var changed = apply(user!) with { SecurityVersion = user!.SecurityVersion + 1, UpdatedAt = change.Now };
                        await change.Transaction.Users.UpdateAsync(changed, cancellationToken).ConfigureAwait(false);
                        change.UserChanged(userId);
                    }

                    changing.Add(userId);
                }

                var revoked = decision.Revokes is { } revocation
                    ? await change.RevokeAllSessionsOfUsersAsync(changing, revocation, admin, ipAddress, cancellationToken).ConfigureAwait(false)
                    : new Dictionary<string, IReadOnlyList<string>>();
                foreach (var userId in changing)
                {
                    var ended = revoked.GetValueOrDefault(userId) ?? [];
                    if (decision.AuditAction is { } auditAction)
                    {
                        change.Audit(auditAction, admin, userId, ipAddress, auditReason, ended);
                    }

                    if (decision.ChangesUser && decision.Revokes is not null)
                    {
                        released.AddRange(await ReleaseProviderTokensAsync(change, userId, cancellationToken).ConfigureAwait(false));
                    }

                    outcomes[userId] = new BulkResult(userId, true, ended.Count, null);
                }

                return userIds.Select(userId => outcomes[userId]).ToList();
            },
            cancellationToken).ConfigureAwait(false);

        // Once committed: the provider's refresh tokens no longer serve these people here, so the provider ends them too.
        if (released.Count > 0 && decision.Revokes is { } reason)
        {
            await providerTokens.RevokeAsync(released, reason.ToWireName(), CancellationToken.None).ConfigureAwait(false);
        }

        return results;
    }

    public async Task<IReadOnlyList<AuditEvent>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        await using var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false);
        return await read.Audit.QueryAsync(query, cancellationToken).ConfigureAwait(false);
    }

    private async Task<UserChangeResult> ChangeAsync(
        Actor admin, string userId, string? ipAddress, Decision decision, string? auditReason, Func<User, User> apply, CancellationToken cancellationToken)
    {
        if (decision.ForbiddenOnSelf && admin.Id == userId)
        {
            throw new TesseraException(ErrorCodes.CannotTargetSelf, "Admins cannot do this to their own account.");
        }

        IReadOnlyList<ExternalIdentity> releasedTokens = [];
        var result = await changes.ApplyAsync(
            async change =>
            {
                var users = change.Transaction.Users;
                var user = (Ids.CanExist(userId) ? await users.FindByIdAsync(userId, cancellationToken).ConfigureAwait(false) : null)
                    ?? throw TesseraException.NotFound("The user");
                if (user.Status == UserStatus.Deleted)
                {
                    // Deleting twice is harmless; any other decision about a deleted user is a mistake worth saying.
                    return decision.Deletes ? new UserChangeResult(user, 0) : throw new TesseraException(ErrorCodes.UserDeleted, "This user has been deleted.");
                }

                // One admin session (stolen, or left open) must not be enough to lock out every other admin.
                if (decision.ForbiddenOnSelf && user.Role == UserRole.Admin && !SignedInRecently(admin, change.Now))
                {
                    throw new TesseraException(ErrorCodes.ReauthenticationRequired,
                        $"Sign in again to deactivate, ban or delete another admin: this needs a sign-in within the last {_recentSignIn.TotalMinutes:0} minutes.");
                }

                var changed = apply(user) with { SecurityVersion = user.SecurityVersion + 1, UpdatedAt = change.Now };
                await users.UpdateAsync(changed, cancellationToken).ConfigureAwait(false);
                change.UserChanged(userId);
                var revoked = decision.Revokes is { } reason
                    ? await change.RevokeSessionsAsync(userId, RevocationScope.All, reason, admin, ipAddress, cancellationToken).ConfigureAwait(false)
                    : [];
                change.Audit(decision.AuditAction!, admin, userId, ipAddress, auditReason, revoked);
                if (decision.Revokes is not null)
                {
                    releasedTokens = await ReleaseProviderTokensAsync(change, userId, cancellationToken).ConfigureAwait(false);
                }

                return new UserChangeResult(changed, revoked.Count);
            },
            cancellationToken).ConfigureAwait(false);

        // Once committed: the provider's refresh tokens no longer serve this person here, so the provider ends them too.
        if (releasedTokens.Count > 0 && decision.Revokes is { } ended)
        {
            await providerTokens.RevokeAsync(releasedTokens, ended.ToWireName(), CancellationToken.None).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Clears the providers' refresh tokens kept for the user's links (the links stay) and returns the links as they were.</summary>
    private static async Task<IReadOnlyList<ExternalIdentity>> ReleaseProviderTokensAsync(AccessChange change, string userId, CancellationToken cancellationToken)
    {
        var links = await change.Transaction.ExternalIdentities.ListByUserAsync(userId, cancellationToken).ConfigureAwait(false);
        var withTokens = links.Where(link => link.ProtectedRefreshToken is not null).ToList();
        foreach (var link in withTokens)
        {
            await change.Transaction.ExternalIdentities.UpdateAsync(link with { ProtectedRefreshToken = null }, cancellationToken).ConfigureAwait(false);
        }

        return withTokens;
    }

    private bool SignedInRecently(Actor admin, DateTimeOffset now) =>
        admin.Kind == ActorKind.System || (admin.SignedInAt is { } at && now - at <= _recentSignIn);

    private async Task<User> FindAsync(string userId, CancellationToken cancellationToken)
    {
        if (!Ids.CanExist(userId))
        {
            throw TesseraException.NotFound("The user");
        }

        await using var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false);
        return await read.Users.FindByIdAsync(userId, cancellationToken).ConfigureAwait(false) ?? throw TesseraException.NotFound("The user");
    }

    private static string? CheckReason(string? reason) => ShownText.Check(reason, "reason", "The reason", MaxReasonLength);
}

/// <summary>What an admin decision records, which sessions it ends, and whom it may target.</summary>
/// <remarks><see cref="AuditAction"/> is null and <see cref="ChangesUser"/> false where only sessions end (their <c>session.revoked</c> is the record).</remarks>
internal sealed record Decision(string? AuditAction, RevocationReason? Revokes, bool ForbiddenOnSelf, bool Deletes = false, bool ChangesUser = true);

public enum BulkAction
{
    Deactivate,
    Reactivate,
    Ban,
    Unban,
    RevokeSessions,
    Delete,
}

public sealed record UserChangeResult(User User, int RevokedSessions);

public sealed record BulkResult(string UserId, bool Ok, int RevokedSessions, string? Code);
