using Tessera.Core.Sessions;

namespace Tessera.Core.Clients;

/// <summary>What a service client may do; the wire names (<see cref="ClientScopes"/>) are part of the HTTP contract.</summary>
public static class ClientScopes
{
    /// <summary>POST /oauth2/introspect.</summary>
    public const string Introspect = "introspect";

    /// <summary>GET /v1/revocations and POST /v1/revocations/ack: the revocation stream of relying apps.</summary>
    public const string Revocations = "revocations";

    /// <summary>POST /oauth2/revoke.</summary>
    public const string Revoke = "revoke";

    /// <summary>
    /// POST /v1/auth/login on behalf of a visitor of the client's own sign-in form, naming the visitor's address and user
    /// agent: the client is trusted to pass them on truthfully, so it is a scope an admin grants on purpose.
    /// </summary>
    public const string Login = "login";

    public static readonly IReadOnlyList<string> All = [Introspect, Revocations, Revoke, Login];
}

/// <summary>
/// An app of the system that relies on Tessera's sessions (a web app, an API, an admin tool), with the secret it
/// authenticates with. Only SHA-256 hashes of secrets are kept. After a rotation the previous secret keeps working until
/// <see cref="PreviousSecretExpiresAt"/>, so that the app's instances can be given the new one without an outage.
/// </summary>
public sealed record ServiceClient
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Distinct, in the order of <see cref="ClientScopes.All"/>.</summary>
    public required IReadOnlyList<string> Scopes { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The id of the admin who created it.</summary>
    public required string CreatedBy { get; init; }

    public required TokenHash SecretHash { get; init; }

    public TokenHash? PreviousSecretHash { get; init; }

    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }

    public DateTimeOffset? RotatedAt { get; init; }

    public DateTimeOffset? DisabledAt { get; init; }

    public bool Disabled => DisabledAt is not null;

    public bool HasScope(string scope) => Scopes.Contains(scope, StringComparer.Ordinal);
}
