using Tessera.Core.Sessions;

namespace Tessera.Core.Invalidations;

/// <summary>
/// "What you hold about this user or these sessions is stale." Sent after every committed change that
/// affects access, so that every node drops its cached copies and ends the matching event streams.
/// </summary>
/// <param name="UserId">The user whose sessions or state changed.</param>
/// <param name="SessionIds">Sessions that were revoked; empty when only the user changed.</param>
/// <param name="Reason">Why the sessions ended, when they were revoked.</param>
/// <param name="UserChanged">The user's own state changed (status, ban, password, deletion): drop the user too.</param>
public sealed record Invalidation(string UserId, IReadOnlyList<string> SessionIds, RevocationReason? Reason, bool UserChanged)
{
    public static Invalidation ForUser(string userId, IReadOnlyList<string> revokedSessionIds, RevocationReason? reason) =>
        new(userId, revokedSessionIds, reason, UserChanged: true);

    public static Invalidation ForSessions(string userId, IReadOnlyList<string> revokedSessionIds, RevocationReason reason) =>
        new(userId, revokedSessionIds, reason, UserChanged: false);
}

/// <summary>Something on this node that holds state derived from the store and must drop it when told.</summary>
public interface IInvalidationHandler
{
    /// <summary>Called on the publishing path: must be quick and must not throw.</summary>
    void Handle(Invalidation invalidation);
}

/// <summary>
/// Carries invalidations to every node. <see cref="PublishAsync"/> returns only when every live node has applied
/// the message (on one node: when the local handlers have run), which is what lets a revoking call promise that
/// no node accepts the session once it returns.
/// </summary>
public interface IInvalidationBus
{
    Task PublishAsync(Invalidation invalidation, CancellationToken cancellationToken);
}

/// <summary>The bus for a single node: handlers run before <see cref="PublishAsync"/> returns.</summary>
public sealed class InProcessInvalidationBus(IEnumerable<IInvalidationHandler> handlers) : IInvalidationBus
{
    private readonly IInvalidationHandler[] _handlers = handlers.ToArray();

    public Task PublishAsync(Invalidation invalidation, CancellationToken cancellationToken)
    {
        foreach (var handler in _handlers)
        {
            handler.Handle(invalidation);
        }

        return Task.CompletedTask;
    }
}
