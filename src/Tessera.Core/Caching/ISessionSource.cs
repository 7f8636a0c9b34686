using Tessera.Core.Sessions;

namespace Tessera.Core.Caching;

/// <summary>
/// Where a node reads a session it does not hold in memory. On one node that is the store; a cluster puts a shared
/// cache (Redis) in front of it behind this same port.
/// </summary>
public interface ISessionSource
{
    Task<SessionWithUser?> FindAsync(TokenHash tokenHash, CancellationToken cancellationToken);
}

