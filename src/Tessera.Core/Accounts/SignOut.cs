using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Core.Accounts;

/// <summary>A person ending the session they are using.</summary>
public sealed class SignOut(AccessChanges changes)
{
    public Task LogoutAsync(CachedSession current, string? ipAddress, CancellationToken cancellationToken) =>
        changes.ApplyAsync(
            change => change.RevokeSessionsAsync(current.Session.UserId, RevocationScope.Only(current.Session.Id), RevocationReason.SignedOut,
                new Actor(ActorKind.User, current.Session.UserId), ipAddress, cancellationToken),
            cancellationToken);
}
