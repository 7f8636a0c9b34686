using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.Storage;

namespace Tessera.Core.ExternalLogin;

/// <summary>A person's linked sign-in methods: listing them, and unlinking one while another way in remains.</summary>
public sealed class ExternalIdentities(ITesseraStore store, AccessChanges changes)
{
    public async Task<IReadOnlyList<ExternalIdentity>> ListAsync(string userId, CancellationToken cancellationToken)
    {
        await using var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false);
        return await read.ExternalIdentities.ListByUserAsync(userId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the user's links at <paramref name="provider"/> and returns them (their refresh tokens are the caller's to
    /// revoke); <c>not_found</c> when there are none, <c>last_sign_in_method</c> when the account would be left with no
    /// password and no other link. Decided on the rows read in the write, so two unlinks at once cannot both pass.
    /// </summary>
    public Task<IReadOnlyList<ExternalIdentity>> UnlinkAsync(string userId, string provider, string? ipAddress, CancellationToken cancellationToken) =>
        changes.ApplyAsync<IReadOnlyList<ExternalIdentity>>(
            async change =>
            {
                var user = await change.Transaction.Users.FindByIdAsync(userId, cancellationToken).ConfigureAwait(false)
                    ?? throw TesseraException.NotFound("user");
                var links = await change.Transaction.ExternalIdentities.ListByUserAsync(userId, cancellationToken).ConfigureAwait(false);
                var removed = links.Where(link => link.Provider == provider).ToList();
                if (removed.Count == 0)
                {
                    throw new TesseraException(ErrorCodes.NotFound, $"No sign-in method at '{provider}' is linked to your account.");
                }

                if (user.PasswordHash is null && removed.Count == links.Count)
                {
                    throw new TesseraException(ErrorCodes.LastSignInMethod,
                        "This is the only way to sign in to your account. Set a password (Forgot password? on the sign-in page) or link another provider first.");
                }

                foreach (var link in removed)
                {
                    await change.Transaction.ExternalIdentities.DeleteAsync(userId, link.Provider, link.Subject, cancellationToken).ConfigureAwait(false);
                }

                change.Audit(AuditActions.ExternalUnlinked, new Actor(ActorKind.User, userId), userId, ipAddress, reason: provider);
                return removed;
            },
            cancellationToken);
}
