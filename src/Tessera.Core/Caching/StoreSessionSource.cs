using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Core.Caching;

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
