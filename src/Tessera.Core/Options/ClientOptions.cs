namespace Tessera.Core.Options;

/// <summary>Service clients, the apps that introspect and revoke sessions and follow the revocation stream (<c>Tessera:Clients</c>).</summary>
public sealed class ClientOptions
{
    /// <summary>
    /// After a client's secret is rotated, the previous secret keeps working this long, so that every instance of the app
    /// can be given the new one first; zero ends it at once. Rotating again ends the older overlap at once.
    /// </summary>
    public TimeSpan RotationOverlap { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a heartbeat of the revocation stream lets a relying app trust its cached verdicts. It is also the longest a
    /// revoking call waits for an app that stopped acknowledging (frozen, cut off): short enough for that wait, long enough
    /// to ride over a few lost heartbeats.
    /// </summary>
    public TimeSpan RevocationLease { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the revocation stream sends a heartbeat; at most a third of the lease, so two may be lost.</summary>
    public TimeSpan RevocationHeartbeat { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Revocation streams one client may hold open on a node: each holds a connection and a task.</summary>
    public int MaxRevocationStreamsPerClient { get; set; } = 16;
}
