namespace Tessera.Core.ExternalLogin;

/// <summary>
/// Revokes providers' refresh tokens (RFC 7009) once Tessera stopped keeping them: after a deactivation, a ban or a
/// deletion (the links stay, their tokens are cleared in the same write), or an unlink. The server's implementation
/// asks each provider's revocation endpoint from its discovery document and audits the result.
/// </summary>
public interface IProviderTokenRevoker
{
    /// <param name="links">The links as they were before their tokens were cleared; those without a token are skipped.</param>
    /// <param name="why">What ended the token, for the audit (<c>user_deactivated</c>, <c>user_banned</c>, <c>user_deleted</c>, <c>unlinked</c>, <c>sign_in_refused</c>).</param>
    Task RevokeAsync(IReadOnlyList<ExternalIdentity> links, string why, CancellationToken cancellationToken);
}

/// <summary>Where no provider is configured: nothing to revoke.</summary>
public sealed class NoProviderTokenRevoker : IProviderTokenRevoker
{
    public Task RevokeAsync(IReadOnlyList<ExternalIdentity> links, string why, CancellationToken cancellationToken) => Task.CompletedTask;
}
