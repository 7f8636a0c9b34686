using Tessera.Core.Access;
using Tessera.Core.Caching;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>What a person changes about how they are shown: their display name.</summary>
public sealed class Profile(AccessChanges changes)
{
    /// <summary>
    /// Changes the name the person is shown by. It grants or takes no access, so no session ends; the user's cached entry
    /// is dropped everywhere all the same, so that every page and node shows the new name on the next request.
    /// </summary>
    public Task<User> ChangeDisplayNameAsync(CachedSession current, string? displayName, CancellationToken cancellationToken)
    {
        var name = AccountInput.ValidateDisplayName(displayName) ?? throw TesseraException.Validation("displayName", "Enter a display name.");
        var userId = current.Session.UserId;
        return changes.ApplyAsync(
            async change =>
            {
                var fresh = await change.Transaction.Users.FindByIdAsync(userId, cancellationToken).ConfigureAwait(false)
                    ?? throw TesseraException.NotFound("The user");
                var renamed = fresh with { DisplayName = name, UpdatedAt = change.Now };
                await change.Transaction.Users.UpdateAsync(renamed, cancellationToken).ConfigureAwait(false);
                change.UserChanged(userId);
                return renamed;
            },
            cancellationToken);
    }
}
