namespace Tessera.Core.Options;

/// <summary>Service clients, the apps that introspect and revoke sessions (<c>Tessera:Clients</c>).</summary>
public sealed class ClientOptions
{
    /// <summary>
    /// After a client's secret is rotated, the previous secret keeps working this long, so that every instance of the app
    /// can be given the new one first; zero ends it at once. Rotating again ends the older overlap at once.
    /// </summary>
    public TimeSpan RotationOverlap { get; set; } = TimeSpan.FromHours(1);
}
