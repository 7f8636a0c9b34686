using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.Caching;
using Tessera.Core.Security;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Throttling;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>A signed-in person changing their password with the current one.</summary>
public sealed class PasswordChange(
    ITesseraStore store,
    AccessChanges changes,
    IPasswordHasher hasher,
    PasswordPolicy passwordPolicy,
    IThrottle throttle)
{
    // Verifying against this when the user has no password makes it take the same time as a wrong one.
    private readonly Lazy<string> _decoyHash = new(() => hasher.Hash(Guid.NewGuid().ToString()));

    /// <summary>Changes the password and ends every other session of the user; the current one stays.</summary>
    public async Task ChangePasswordAsync(CachedSession current, string? currentPassword, string? newPassword, string? ipAddress, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(currentPassword))
        {
            throw TesseraException.Validation("currentPassword", "The current password is required.");
        }

        var userId = current.Session.UserId;
        passwordPolicy.Check(newPassword, "newPassword", current.User.User.Email, current.User.User.DisplayName);
        await throttle.ThrottleAsync(ThrottledAction.PasswordChange, ipAddress, userId, cancellationToken).ConfigureAwait(false);

        // The stored hash, not the cached user's: an entry from the shared cache in Redis carries no hash at all.
        User user;
        await using (var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false))
        {
            user = await read.Users.FindByIdAsync(userId, cancellationToken).ConfigureAwait(false) ?? throw TesseraException.NotFound("The user");
        }

        if (hasher.Verify(user.PasswordHash ?? _decoyHash.Value, currentPassword) == PasswordCheck.Failed || user.PasswordHash is null)
        {
            await throttle.RecordFailureAsync(ThrottledAction.PasswordChange, userId, cancellationToken).ConfigureAwait(false);
            throw new TesseraException(ErrorCodes.WrongPassword, "The current password is wrong.");
        }

        await throttle.RecordSuccessAsync(ThrottledAction.PasswordChange, userId, cancellationToken).ConfigureAwait(false);

        var newHash = hasher.Hash(newPassword!);
        var actor = new Actor(ActorKind.User, userId);
        await changes.ApplyAsync(
            async change =>
            {
                var fresh = await change.Transaction.Users.FindByIdAsync(userId, cancellationToken).ConfigureAwait(false)
                    ?? throw TesseraException.NotFound("The user");
                if (fresh.PasswordHash != user.PasswordHash)
                {
                    // Changed by another request since this one checked the current password.
                    throw new TesseraException(ErrorCodes.WrongPassword, "The current password is wrong.");
                }

                await StoredPassword.ReplaceAsync(change, fresh, newHash, cancellationToken).ConfigureAwait(false);
                var revoked = await change.RevokeSessionsAsync(userId, RevocationScope.AllExcept(current.Session.Id), RevocationReason.PasswordChanged,
                    actor, ipAddress, cancellationToken).ConfigureAwait(false);
                change.Audit(AuditActions.PasswordChanged, actor, userId, ipAddress, sessionIds: revoked);
                return revoked.Count;
            },
            cancellationToken).ConfigureAwait(false);
    }
}
