namespace Tessera.Core.ExternalLogin;

/// <summary>
/// A sign-in method at an OpenID Connect provider linked to a Tessera user: the provider's name in the configuration and
/// the subject (<c>sub</c>) it gave that person. A returning person is found by this pair and never by email, so an
/// address that changes hands at the provider cannot reach someone else's account.
/// </summary>
/// <remarks>
/// A link outlives the deletion of its user on purpose: signing in again at the provider then finds the deleted account
/// and is refused, instead of creating a fresh one (a deleted account is never resurrected).
/// </remarks>
public sealed record ExternalIdentity
{
    /// <summary>The provider's name as configured (<c>google</c>, or the key under <c>Tessera:ExternalLogin:Providers</c>).</summary>
    public required string Provider { get; init; }

    /// <summary>The provider's stable identifier of the person (the ID token's <c>sub</c>).</summary>
    public required string Subject { get; init; }

    public required string UserId { get; init; }

    /// <summary>The address the provider gave when the link was made, shown in the list of sign-in methods; null when it gave none.</summary>
    public string? Email { get; init; }

    public required DateTimeOffset LinkedAt { get; init; }

    /// <summary>The last sign-in through this link; null until the first one after linking.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }

    /// <summary>
    /// The provider's refresh token, protected with Data Protection (never the token itself); null unless the deployment
    /// asked the provider for offline access. The store keeps it as opaque text.
    /// </summary>
    public string? ProtectedRefreshToken { get; init; }
}
