using Tessera.Core.Sessions;

namespace Tessera.Core.Invalidations;

/// <summary>
/// "What you hold about this user or these sessions, or about this service client, is stale." Sent after every
/// committed change that affects access, so that every node drops its cached copies and ends the matching event streams.
/// </summary>
/// <param name="UserId">The user whose sessions or state changed; null when only a service client changed (<see cref="ClientId"/>).</param>
/// <param name="SessionIds">Sessions that were revoked; empty when only the user changed.</param>
/// <param name="Reason">Why the sessions ended, when they were revoked.</param>
/// <param name="UserChanged">The user's own state changed (status, ban, password, deletion): drop the user too.</param>
public sealed record Invalidation(string? UserId, IReadOnlyList<string> SessionIds, RevocationReason? Reason, bool UserChanged)
{
    /// <summary>The service client that changed (rotated, disabled): every node drops its copy of it. Null for users and sessions.</summary>
    public string? ClientId { get; init; }

    public static Invalidation ForClient(string clientId) => new(null, [], null, UserChanged: false) { ClientId = clientId };

    public static Invalidation ForUser(string userId, IReadOnlyList<string> revokedSessionIds, RevocationReason? reason) =>
        new(userId, revokedSessionIds, reason, UserChanged: true);

    public static Invalidation ForSessions(string userId, IReadOnlyList<string> revokedSessionIds, RevocationReason reason) =>
        new(userId, revokedSessionIds, reason, UserChanged: false);
}
