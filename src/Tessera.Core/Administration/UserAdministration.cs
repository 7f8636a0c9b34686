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

    public Task<UserChangeResult> DeactivateAsync(Actor admin, string userId, string? reason, string? ipAddress, CancellationToken cancellationToken) =>
        ChangeAsync(admin, userId, ipAddress, new Decision(AuditActions.UserDeactivated, RevocationReason.UserDeactivated, ForbiddenOnSelf: true),
            CheckReason(reason), user => user with { Status = UserStatus.Deactivated }, cancellationToken);

    public Task<UserChangeResult> ReactivateAsync(Actor admin, string userId, string? ipAddress, CancellationToken cancellationToken) =>
        ChangeAsync(admin, userId, ipAddress, new Decision(AuditActions.UserReactivated, Revokes: null, ForbiddenOnSelf: false),
            null, user => user with { Status = UserStatus.Active }, cancellationToken);

    public Task<UserChangeResult> BanAsync(Actor admin, string userId, string? reason, DateTimeOffset? until, string? ipAddress, CancellationToken cancellationToken)
    {
        if (until is { } end && end <= clock.GetUtcNow())
        {
            throw TesseraException.Validation("until", "A ban must end in the future; leave 'until' out for a ban until unbanned.");
        }

        var banReason = CheckReason(reason);
        return ChangeAsync(admin, userId, ipAddress, new Decision(AuditActions.UserBanned, RevocationReason.UserBanned, ForbiddenOnSelf: true),
            banReason, user => user with { Banned = true, BannedUntil = until, BanReason = banReason }, cancellationToken);
    }

    public Task<UserChangeResult> UnbanAsync(Actor admin, string userId, string? ipAddress, CancellationToken cancellationToken) =>
        ChangeAsync(admin, userId, ipAddress, new Decision(AuditActions.UserUnbanned, Revokes: null, ForbiddenOnSelf: false),
            null, user => user with { Banned = false, BannedUntil = null, BanReason = null }, cancellationToken);

    /// <summary>Soft delete: personal data replaced, password removed, every session ended. The id stays for the audit log.</summary>
    public Task<UserChangeResult> DeleteAsync(Actor admin, string userId, string? ipAddress, CancellationToken cancellationToken) =>
        ChangeAsync(admin, userId, ipAddress, new Decision(AuditActions.UserDeleted, RevocationReason.UserDeleted, ForbiddenOnSelf: true, Deletes: true),
            null, user => user with
            {
                Status = UserStatus.Deleted,
                Email = User.DeletedEmail(user.Id),
                DisplayName = "Deleted user",
                PasswordHash = null,
                Banned = false,
                BannedUntil = null,
                BanReason = null,
            },
            cancellationToken);

    /// <summary>Applies one action to many users, each in its own transaction, so an interruption leaves every user either done or untouched.</summary>
    public async Task<IReadOnlyList<BulkResult>> BulkAsync(
        Actor admin, BulkAction action, IReadOnlyList<string> userIds, string? reason, DateTimeOffset? until, string? ipAddress, CancellationToken cancellationToken)
    {
        if (userIds.Count == 0 || userIds.Count > MaxBulkUsers)
        {
            throw TesseraException.Validation("userIds", $"userIds must name between 1 and {MaxBulkUsers} users.");
        }

        if (action == BulkAction.Ban && until is { } end && end <= clock.GetUtcNow())
        {
            throw TesseraException.Validation("until", "A ban must end in the future; leave 'until' out for a ban until unbanned.");
        }

        CheckReason(reason);
        var results = new List<BulkResult>(userIds.Count);
        foreach (var userId in userIds.Distinct(StringComparer.Ordinal))
        {
            try
            {
                var revoked = action switch
                {
                    BulkAction.Deactivate => (await DeactivateAsync(admin, userId, reason, ipAddress, cancellationToken).ConfigureAwait(false)).RevokedSessions,
                    BulkAction.Reactivate => (await ReactivateAsync(admin, userId, ipAddress, cancellationToken).ConfigureAwait(false)).RevokedSessions,
                    BulkAction.Ban => (await BanAsync(admin, userId, reason, until, ipAddress, cancellationToken).ConfigureAwait(false)).RevokedSessions,
                    BulkAction.Unban => (await UnbanAsync(admin, userId, ipAddress, cancellationToken).ConfigureAwait(false)).RevokedSessions,
                    BulkAction.RevokeSessions => await RevokeSessionsAsync(admin, userId, ipAddress, cancellationToken).ConfigureAwait(false),
                    BulkAction.Delete => (await DeleteAsync(admin, userId, ipAddress, cancellationToken).ConfigureAwait(false)).RevokedSessions,
                    _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
                };
                results.Add(new BulkResult(userId, true, revoked, null));
            }
            catch (TesseraException refused)
            {
                results.Add(new BulkResult(userId, false, 0, refused.Code));
            }
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
                await change.AuditAsync(decision.AuditAction, admin, userId, ipAddress, auditReason, revoked, cancellationToken).ConfigureAwait(false);
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
internal sealed record Decision(string AuditAction, RevocationReason? Revokes, bool ForbiddenOnSelf, bool Deletes = false);

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
