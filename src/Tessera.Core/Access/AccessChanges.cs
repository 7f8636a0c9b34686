using System.Diagnostics;
using Tessera.Core.Audit;
using Tessera.Core.Diagnostics;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Core.Access;

/// <summary>
/// The one way access changes are made: the change and its audit events in one write transaction, then, once it
/// has committed, an invalidation for every user it touched. When <see cref="ApplyAsync{TResult}"/> returns, the
/// change is durable and neither a node nor a relying app that follows a node's revocation stream holds a copy that
/// contradicts it and trusts it.
/// </summary>
public sealed class AccessChanges(ITesseraStore store, IInvalidationBus bus, TesseraMetrics metrics, TimeProvider clock)
{
    public async Task<TResult> ApplyAsync<TResult>(Func<AccessChange, Task<TResult>> change, CancellationToken cancellationToken)
    {
        AccessChange context;
        TResult result;
        var started = Stopwatch.GetTimestamp();
        await using (var transaction = await store.BeginWriteAsync(cancellationToken).ConfigureAwait(false))
        {
            context = new AccessChange(transaction, clock);
            result = await change(context).ConfigureAwait(false);
            await context.FlushAuditAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        metrics.AccessChangeStored(Stopwatch.GetElapsedTime(started));
        foreach (var (reason, count) in context.RevokedCounts)
        {
            metrics.SessionsRevoked(reason, count);
        }

        // The change is committed: tell every node even if the caller has gone away meanwhile, and send every
        // invalidation even if one cannot be confirmed, so that each reaches as far as it can. A change that touched
        // many users (a bulk batch) sends theirs at once: each waits for the other nodes' acknowledgements, and one
        // round of waiting for all of them costs what one costs, where one after the other would cost a round each.
        var invalidations = context.Invalidations.ToList();
        if (invalidations.Count == 0)
        {
            // Nothing any node holds changed (an audit-only change: a failed login, a registration).
            return result;
        }

        var publishing = Stopwatch.GetTimestamp();
        var outcomes = invalidations.Count == 1
            ? [await PublishAsync(invalidations[0]).ConfigureAwait(false)]
            : await Task.WhenAll(invalidations.Select(PublishAsync)).ConfigureAwait(false);

        // Every node has it; now every relying app that keeps verdicts of its own (or its lease has run out). A node that
        // said in its acknowledgements that its apps were confirmed is not asked again.
        await bus.WhenRelyingAppsConfirmedAsync([.. outcomes.Select(outcome => outcome.Receipt)], CancellationToken.None).ConfigureAwait(false);
        metrics.AccessChangePublished(Stopwatch.GetElapsedTime(publishing));

        var failures = outcomes.Select(outcome => outcome.Failure).OfType<Exception>().ToList();
        if (failures.Count > 0)
        {
            throw failures.Count == 1
                ? failures[0]
                : new InvalidationNotConfirmedException("The change is saved but could not be confirmed on every node.", new AggregateException(failures));
        }

        return result;
    }

    /// <summary>
    /// Publishes one invalidation; the failure to confirm it, if any, is returned rather than thrown, so that the others
    /// still go out (its receipt then names no node, so the confirmation round asks every one).
    /// </summary>
    private async Task<(PublishReceipt Receipt, Exception? Failure)> PublishAsync(Invalidation invalidation)
    {
        try
        {
            return (await bus.PublishAsync(invalidation, CancellationToken.None).ConfigureAwait(false), null);
        }
        catch (InvalidationNotConfirmedException notConfirmed)
        {
            return (PublishReceipt.None, notConfirmed);
        }
    }
}

/// <summary>One access change under way: its transaction, its clock reading, and what it must announce.</summary>
public sealed class AccessChange
{
    private readonly Dictionary<string, (List<string> SessionIds, RevocationReason? Reason, bool UserChanged)> _touched = new(StringComparer.Ordinal);
    private readonly HashSet<string> _clients = new(StringComparer.Ordinal);
    private readonly List<AuditEvent> _audit = [];
    private readonly TimeProvider _clock;

    internal AccessChange(IStoreTransaction transaction, TimeProvider clock)
    {
        Transaction = transaction;
        _clock = clock;
        Now = clock.GetUtcNow();
    }

    public IStoreTransaction Transaction { get; }

    /// <summary>The time of the change, the same for every row and event it writes.</summary>
    public DateTimeOffset Now { get; }

    internal Dictionary<RevocationReason, int> RevokedCounts { get; } = [];

    internal IEnumerable<Invalidation> Invalidations =>
        _touched.Select(t => new Invalidation(t.Key, t.Value.SessionIds, t.Value.Reason, t.Value.UserChanged))
            .Concat(_clients.Select(Invalidation.ForClient));

    /// <summary>Ends the selected sessions of a user and writes their <c>session.revoked</c> event.</summary>
    public async Task<IReadOnlyList<string>> RevokeSessionsAsync(
        string userId, RevocationScope scope, RevocationReason reason, Actor actor, string? ipAddress, CancellationToken cancellationToken)
    {
        var revoked = await Transaction.Sessions.RevokeAsync(userId, scope, new SessionRevocation(Now, actor.RevokedBy, reason), cancellationToken)
            .ConfigureAwait(false);
        Revoked(userId, revoked, reason, actor, ipAddress);
        return revoked;
    }

    /// <summary>
    /// Ends every live session of each of these users in one statement (a bulk batch) and writes a <c>session.revoked</c>
    /// event for each user that had any, in the order of <paramref name="userIds"/>: the same rows and events as
    /// <see cref="RevokeSessionsAsync"/> once per user. Returns the revoked ids per user (users without any left out).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> RevokeAllSessionsOfUsersAsync(
        IReadOnlyList<string> userIds, RevocationReason reason, Actor actor, string? ipAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        var revoked = await Transaction.Sessions.RevokeAllOfUsersAsync(userIds, new SessionRevocation(Now, actor.RevokedBy, reason), cancellationToken)
            .ConfigureAwait(false);
        foreach (var userId in userIds)
        {
            if (revoked.TryGetValue(userId, out var ids))
            {
                Revoked(userId, ids, reason, actor, ipAddress);
            }
        }

        return revoked;
    }

    /// <summary>Records that a service client changed (its secret, its state), so every node drops its copy of the client.</summary>
    public void ClientChanged(string clientId) => _clients.Add(clientId);

    /// <summary>Records that the user's own state changed, so every node drops its copy of the user.</summary>
    public void UserChanged(string userId) => _touched[userId] = Touch(userId) with { UserChanged = true };

    /// <summary>
    /// Adds an event to the change. Events are written together, in the order they were added, just before the
    /// transaction commits (a bulk batch's hundreds in a few statements rather than one each); a change that fails or is
    /// rolled back writes none.
    /// </summary>
    public void Audit(
        string action, Actor actor, string? targetUserId, string? ipAddress, string? reason = null, IReadOnlyList<string>? sessionIds = null) =>
        _audit.Add(new AuditEvent
        {
            Id = Ids.NewAuditEventId(_clock),
            At = Now,
            Action = action,
            Actor = actor,
            TargetUserId = targetUserId,
            SessionIds = sessionIds ?? [],
            Reason = reason,
            IpAddress = ipAddress,
        });

    /// <summary>Writes the events added so far; called by <see cref="AccessChanges"/> right before the commit.</summary>
    internal async Task FlushAuditAsync(CancellationToken cancellationToken)
    {
        if (_audit.Count == 0)
        {
            return;
        }

        await Transaction.Audit.AppendManyAsync([.. _audit], cancellationToken).ConfigureAwait(false);
        _audit.Clear();
    }

    /// <summary>Records revoked sessions: their <c>session.revoked</c> event, the metric, and the invalidation of the user's sessions.</summary>
    private void Revoked(string userId, IReadOnlyList<string> revoked, RevocationReason reason, Actor actor, string? ipAddress)
    {
        if (revoked.Count == 0)
        {
            return;
        }

        Audit(AuditActions.SessionRevoked, actor, userId, ipAddress, reason.ToWireName(), revoked);
        RevokedCounts[reason] = RevokedCounts.GetValueOrDefault(reason) + revoked.Count;
        var touched = Touch(userId);
        touched.SessionIds.AddRange(revoked);
        _touched[userId] = touched with { Reason = reason };
    }

    private (List<string> SessionIds, RevocationReason? Reason, bool UserChanged) Touch(string userId) =>
        _touched.TryGetValue(userId, out var touched) ? touched : ([], null, false);
}
