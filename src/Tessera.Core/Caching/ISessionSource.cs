using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Core.Caching;

/// <summary>A session with its user, read together.</summary>
public sealed record SessionWithUser(Session Session, User User);

/// <summary>
/// Where a node reads a session it does not hold in memory. On one node that is the store; a cluster puts a shared
/// cache (Redis) in front of it behind this same port.
/// </summary>
public interface ISessionSource
{
    Task<SessionWithUser?> FindAsync(TokenHash tokenHash, CancellationToken cancellationToken);
}

/// <summary>Reads straight from the store.</summary>
public sealed class StoreSessionSource(ITesseraStore store) : ISessionSource
{
    public async Task<SessionWithUser?> FindAsync(TokenHash tokenHash, CancellationToken cancellationToken)
    {
        await using var transaction = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false);
        var session = await transaction.Sessions.FindByTokenHashAsync(tokenHash, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return null;
        }

        var user = await transaction.Users.FindByIdAsync(session.UserId, cancellationToken).ConfigureAwait(false);
        return user is null ? null : new SessionWithUser(session, user);
    }
}
