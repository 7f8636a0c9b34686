namespace Tessera.Core.Options;

/// <summary>Service clients, the apps that introspect and revoke sessions (<c>Tessera:Clients</c>).</summary>
public sealed class ClientOptions
{
    /// <summary>
    /// After a client's secret is rotated, the previous secret keeps working this long, so that every instance of the app
    /// can be given the new one first; zero ends it at once. Rotating again ends the older overlap at once.
    /// </summary>
    public TimeSpan RotationOverlap { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a relying app may trust its cached verdicts after a heartbeat of its revocation stream
    /// (<c>Tessera:Clients:RevocationLease</c>, see <c>docs/relying-apps.md</c>). It bounds how long a revoking call waits
    /// for an app that does not confirm, and a cluster's timings must leave room for it (<c>RedisClusterOptionsValidator</c>).
    /// </summary>
    public TimeSpan RevocationLease { get; set; } = TimeSpan.FromSeconds(1);
}
