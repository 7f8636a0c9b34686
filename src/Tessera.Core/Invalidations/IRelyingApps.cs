namespace Tessera.Core.Invalidations;

/// <summary>
/// The relying apps that follow this node's revocation stream (<c>GET /v1/revocations</c>) and keep verdicts of their
/// own. They hear every invalidation this node handles, and confirm it; an app that stops confirming stops being
/// vouched for by this node, and its lease on its verdicts runs out (see <c>docs/relying-apps.md</c>).
/// </summary>
public interface IRelyingApps
{
    /// <summary>
    /// Completes when every app following this node has confirmed every invalidation this node had handled when the
    /// call was made, or can no longer be trusting the verdicts it holds (its lease, granted by heartbeats sent before
    /// that invalidation, has run out). Never throws for an app that stays silent; it waits out its lease instead.
    /// </summary>
    Task WhenConfirmedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// True when <see cref="WhenConfirmedAsync"/> would complete at once: no app following this node can be trusting a
    /// verdict that an invalidation it has handled contradicts. A cluster node says so in its acknowledgement of an
    /// invalidation, which spares the publisher a confirmation round with it (see <see cref="PublishReceipt"/>).
    /// </summary>
    bool IsConfirmed { get; }

    /// <summary>
    /// Records "the app behind <paramref name="streamId"/> has applied every event through <paramref name="through"/>".
    /// False when the stream is not one of this node's (unknown, or long gone), or was not opened by
    /// <paramref name="clientId"/>: an app confirms its own stream only, whatever stream ids it may have seen.
    /// </summary>
    bool Acknowledge(string streamId, string clientId, long through);
}

/// <summary>A node without a revocation stream (a store tool, a test host): nothing to wait for.</summary>
public sealed class NoRelyingApps : IRelyingApps
{
    public Task WhenConfirmedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public bool IsConfirmed => true;

    public bool Acknowledge(string streamId, string clientId, long through) => false;
}
