namespace Tessera.Core.Invalidations;

/// <summary>Something on this node that holds state derived from the store and must drop it when told.</summary>
public interface IInvalidationHandler
{
    /// <summary>Called on the publishing path: must be quick and must not throw.</summary>
    void Handle(Invalidation invalidation);
}
