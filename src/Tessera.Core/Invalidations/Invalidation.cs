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
/// no node accepts the session once it returns. When that cannot be confirmed in time it throws
/// <see cref="InvalidationNotConfirmedException"/>, after applying the message on this node.
/// </summary>
public interface IInvalidationBus
{
    Task PublishAsync(Invalidation invalidation, CancellationToken cancellationToken);
}

/// <summary>
/// An access change was committed and applied on this node, but the bus could not confirm that every other node
/// heard it before its deadline. The change is not lost (the store holds it, and the bus delivers it again when it
/// can); the caller must not be told that the promise holds everywhere. The server answers 503.
/// </summary>
public sealed class InvalidationNotConfirmedException : Exception
{
    public InvalidationNotConfirmedException()
        : this("The change is saved but could not be confirmed on every node.")
    {
    }

    public InvalidationNotConfirmedException(string message)
        : base(message)
    {
    }

    public InvalidationNotConfirmedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The bus for a single node: handlers run before <see cref="InProcessInvalidationBus.PublishAsync"/> returns.</summary>
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
