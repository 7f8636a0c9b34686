using Tessera.Core.Access;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>The write a password change and a password reset share.</summary>
internal static class StoredPassword
{
    /// <summary>Sets the new hash and, in the same transaction, ends every reset token sent before it.</summary>
    public static async Task ReplaceAsync(AccessChange change, User user, string newHash, CancellationToken cancellationToken)
    {
        await change.Transaction.Users.UpdateAsync(
            user with { PasswordHash = newHash, SecurityVersion = user.SecurityVersion + 1, UpdatedAt = change.Now },
            cancellationToken).ConfigureAwait(false);
        await change.Transaction.PasswordResetTokens.InvalidateAllAsync(user.Id, change.Now, cancellationToken).ConfigureAwait(false);
        change.UserChanged(user.Id);
    }
}
