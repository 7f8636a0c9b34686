using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.Security;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Throttling;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>
/// A person who forgot their password: asking for a reset message, and setting a new password with its token. The
/// message itself is looked up and sent afterwards by <see cref="PasswordResetDispatcher"/>.
/// </summary>
public sealed class PasswordReset(
    AccessChanges changes,
    IPasswordHasher hasher,
    PasswordPolicy passwordPolicy,
    IThrottle throttle,
    PendingPasswordResets pendingResets)
{
    /// <summary>
    /// Accepts a reset request and says nothing about the email: the same checks and the same work whether or not it
    /// belongs to an account. The lookup and the message happen after the answer (<see cref="PendingPasswordResets"/>).
    /// </summary>
    public async Task RequestPasswordResetAsync(string? email, string? ipAddress, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(email) || email.Length > AccountInput.MaxEmailLength)
        {
            throw TesseraException.Validation("email", "An email address is required.");
        }

        var normalizedEmail = User.NormalizeEmail(email);
        await throttle.ThrottleAsync(ThrottledAction.PasswordResetRequest, ipAddress, normalizedEmail, cancellationToken).ConfigureAwait(false);
        pendingResets.Enqueue(new AcceptedResetRequest(normalizedEmail, ipAddress));
    }

    /// <summary>Sets a new password with a reset token and ends every session of the user.</summary>
    public async Task ResetPasswordAsync(string? token, string? newPassword, string? ipAddress, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token))
        {
            throw TesseraException.Validation("token", "The reset token is required.");
        }

        if (!SecretTokens.TryHash(token, out var tokenHash))
        {
            throw new TesseraException(ErrorCodes.InvalidResetToken, "The reset token is invalid or has expired.");
        }

        // Checked before the slow hash without knowing whose token it is, then again with their email and name.
        passwordPolicy.Check(newPassword, "newPassword");
        var newHash = hasher.Hash(newPassword!);
        await changes.ApplyAsync(
            async change =>
            {
                var reset = await change.Transaction.PasswordResetTokens.ConsumeAsync(tokenHash, change.Now, cancellationToken).ConfigureAwait(false);
                var user = reset is null ? null : await change.Transaction.Users.FindByIdAsync(reset.UserId, cancellationToken).ConfigureAwait(false);
                if (user is null || user.Status == UserStatus.Deleted)
                {
                    throw new TesseraException(ErrorCodes.InvalidResetToken, "The reset token is invalid or has expired.");
                }

                passwordPolicy.Check(newPassword, "newPassword", user.Email, user.DisplayName);
                var actor = new Actor(ActorKind.User, user.Id);
                await StoredPassword.ReplaceAsync(change, user, newHash, cancellationToken).ConfigureAwait(false);
                var revoked = await change.RevokeSessionsAsync(user.Id, RevocationScope.All, RevocationReason.PasswordReset, actor, ipAddress, cancellationToken)
                    .ConfigureAwait(false);
                change.Audit(AuditActions.PasswordReset, actor, user.Id, ipAddress, sessionIds: revoked);
                return revoked.Count;
            },
            cancellationToken).ConfigureAwait(false);
    }
}
