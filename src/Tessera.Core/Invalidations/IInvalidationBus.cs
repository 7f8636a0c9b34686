namespace Tessera.Core.Invalidations;

/// <summary>
/// Carries invalidations to every node. <see cref="PublishAsync"/> returns only when every live node has applied
/// the message (on one node: when the local handlers have run), which is what lets a revoking call promise that
/// no node accepts the session once it returns. When that cannot be confirmed in time it throws
/// <see cref="InvalidationNotConfirmedException"/>, after applying the message on this node.
/// </summary>
public interface IInvalidationBus
{
    /// <summary>This node's name on the bus; a relying app's stream id starts with it (see <see cref="AcknowledgeAsync"/>).</summary>
    string NodeId { get; }

    /// <summary>
    /// How long after a change was published another node may still answer from a copy made before it: by then every
    /// live node has applied it or fenced itself. Zero on a single node. A relying app must not cache a verdict about a
    /// changed user that it fetched within this window (the revocation stream's <c>settle</c>).
    /// </summary>
    TimeSpan ConvergenceWindow { get; }

    /// <summary>
    /// Applies the invalidation here and on every live node; the receipt names the nodes whose relying apps were
    /// confirmed when they applied it (see <see cref="PublishReceipt"/>).
    /// </summary>
    Task<PublishReceipt> PublishAsync(Invalidation invalidation, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when every relying app following any node has confirmed every invalidation this node published
    /// before the call, or can no longer be trusting its verdicts (its lease ran out, or its node went silent and
    /// stopped vouching for it). The second half of a revoking call's promise; <see cref="IRelyingApps"/> is one
    /// node's half of it. <paramref name="published"/> are the receipts of the call's own publishes: a node that said
    /// in acknowledging every one of them that its apps were confirmed is not asked again (with none, every node is).
    /// </summary>
    Task WhenRelyingAppsConfirmedAsync(IReadOnlyList<PublishReceipt> published, CancellationToken cancellationToken);

    /// <summary>
    /// Hands an app's confirmation, made by service client <paramref name="clientId"/>, to the node that holds its stream
    /// (this one, or another through the cluster), which accepts it only from the client that opened the stream.
    /// False when no node can be reached that knows the stream.
    /// </summary>
    Task<bool> AcknowledgeAsync(string streamId, string clientId, long through, CancellationToken cancellationToken);
}
