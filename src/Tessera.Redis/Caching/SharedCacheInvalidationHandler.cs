using Tessera.Core.Invalidations;

namespace Tessera.Redis.Caching;

/// <summary>
/// Tells the shared cache's gate of every change this node applies, whichever way it came (the bus, the PostgreSQL
/// listener, this node's own publish). It must run before the session cache drops its entries: a check that misses
/// in memory right after the drop must already find the user marked, or it could take an older shared entry and keep
/// it. <c>AddTesseraRedis</c> therefore registers it ahead of every other handler.
/// </summary>
internal sealed class SharedCacheInvalidationHandler(SharedEntryGate gate) : IInvalidationHandler
{
    public void Handle(Invalidation invalidation)
    {
        // A change to a service client alone names no user: no shared session entry depends on it.
        if (invalidation.UserId is { } userId)
        {
            gate.MarkUser(userId);
        }
    }
}
