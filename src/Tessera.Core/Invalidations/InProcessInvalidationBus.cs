namespace Tessera.Core.Invalidations;

/// <summary>The bus for a single node: handlers run before <see cref="InProcessInvalidationBus.PublishAsync"/> returns.</summary>
public sealed class InProcessInvalidationBus(IEnumerable<IInvalidationHandler> handlers, IRelyingApps relyingApps) : IInvalidationBus
{
    /// <summary>The one node's name; stream ids of relying apps start with it.</summary>
    public const string LocalNodeId = "local";

    private readonly IInvalidationHandler[] _handlers = handlers.ToArray();

    public string NodeId => LocalNodeId;

    public TimeSpan ConvergenceWindow => TimeSpan.Zero;

    public Task<PublishReceipt> PublishAsync(Invalidation invalidation, CancellationToken cancellationToken)
    {
        foreach (var handler in _handlers)
        {
            handler.Handle(invalidation);
        }

        return Task.FromResult(PublishReceipt.None);
    }

    public Task WhenRelyingAppsConfirmedAsync(IReadOnlyList<PublishReceipt> published, CancellationToken cancellationToken) =>
        relyingApps.WhenConfirmedAsync(cancellationToken);

    public Task<bool> AcknowledgeAsync(string streamId, string clientId, long through, CancellationToken cancellationToken) =>
        Task.FromResult(relyingApps.Acknowledge(streamId, clientId, through));
}
