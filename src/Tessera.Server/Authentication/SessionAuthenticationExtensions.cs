namespace Tessera.Server.Authentication;

/// <summary>Marks route groups as needing a session (read by <see cref="SessionAuthenticationMiddleware"/>).</summary>
internal static class SessionAuthenticationExtensions
{
    /// <summary>Every endpoint of the group needs a session that holds.</summary>
    public static RouteGroupBuilder RequireSession(this RouteGroupBuilder group) => group.WithMetadata(new RequireSessionMetadata(Admin: false));

    /// <summary>Every endpoint of the group needs a session that holds and an admin behind it.</summary>
    public static RouteGroupBuilder RequireAdmin(this RouteGroupBuilder group) => group.WithMetadata(new RequireSessionMetadata(Admin: true));
}
