using Tessera.Core.Audit;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Core.Access;

/// <summary>One access change under way: its transaction, its clock reading, and what it must announce.</summary>
public sealed class AccessChange
{
    private readonly Dictionary<string, (List<string> SessionIds, RevocationReason? Reason, bool UserChanged)> _touched = new(StringComparer.Ordinal);
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
        _touched.Select(t => new Invalidation(t.Key, t.Value.SessionIds, t.Value.Reason, t.Value.UserChanged));

    /// <summary>Ends the selected sessions of a user and writes their <c>session.revoked</c> event.</summary>
    public async Task<IReadOnlyList<string>> RevokeSessionsAsync(
        string userId, RevocationScope scope, RevocationReason reason, Actor actor, string? ipAddress, CancellationToken cancellationToken)
    {
        var revoked = await Transaction.Sessions.RevokeAsync(userId, scope, new SessionRevocation(Now, actor.RevokedBy, reason), cancellationToken)
            .ConfigureAwait(false);
        if (revoked.Count == 0)
        {
            return revoked;
        }

        await AuditAsync(AuditActions.SessionRevoked, actor, userId, ipAddress, reason.ToWireName(), revoked, cancellationToken).ConfigureAwait(false);
        RevokedCounts[reason] = RevokedCounts.GetValueOrDefault(reason) + revoked.Count;
        var touched = Touch(userId);
        touched.SessionIds.AddRange(revoked);
        _touched[userId] = touched with { Reason = reason };
        return revoked;
    }

    /// <summary>Records that the user's own state changed, so every node drops its copy of the user.</summary>
    public void UserChanged(string userId) => _touched[userId] = Touch(userId) with { UserChanged = true };

    public Task AuditAsync(
        string action, Actor actor, string? targetUserId, string? ipAddress, string? reason = null,
        IReadOnlyList<string>? sessionIds = null, CancellationToken cancellationToken = default) =>
        Transaction.Audit.AppendAsync(
            new AuditEvent
            {
                Id = Ids.NewAuditEventId(_clock),
                At = Now,
                Action = action,
                Actor = actor,
                TargetUserId = targetUserId,
                SessionIds = sessionIds ?? [],
                Reason = reason,
                IpAddress = ipAddress,
            },
            cancellationToken);

    private (List<string> SessionIds, RevocationReason? Reason, bool UserChanged) Touch(string userId) =>
        _touched.TryGetValue(userId, out var touched) ? touched : ([], null, false);
}
