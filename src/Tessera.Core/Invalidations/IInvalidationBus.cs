namespace Tessera.Core.Invalidations;

/// <summary>
/// Carries invalidations to every node. <see cref="PublishAsync"/> returns only when every live node has applied
/// the message (on one node: when the local handlers have run), which is what lets a revoking call promise that
/// no node accepts the session once it returns. When that cannot be confirmed in time it throws
/// <see cref="InvalidationNotConfirmedException"/>, after applying the message on this node.
/// </summary>
public interface IInvalidationBus
{
    Task PublishAsync(Invalidation invalidation, CancellationToken cancellationToken);
}
