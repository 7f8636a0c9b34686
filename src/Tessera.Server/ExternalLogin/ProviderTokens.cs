using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.ExternalLogin;

namespace Tessera.Server.ExternalLogin;

/// <summary>
/// Revokes providers' refresh tokens at their RFC 7009 endpoint (<c>revocation_endpoint</c> of the discovery document the
/// OpenID Connect handler already reads), authenticated as Tessera's client (<c>client_secret_basic</c>), and audits
/// every outcome as <c>external.token_revoked</c>. A provider that cannot be reached does not undo what ended access:
/// the token is no longer kept here either way, and the audit says it was not confirmed.
/// </summary>
internal sealed partial class ProviderTokens(
    ExternalProviders providers,
    IServiceProvider services,
    IDataProtectionProvider dataProtection,
    AccessChanges changes,
    ILogger<ProviderTokens> logger) : IProviderTokenRevoker
{
    private readonly IDataProtector _protector = dataProtection.CreateProtector(ExternalCallback.RefreshTokenPurpose);

    // Resolved when first needed, not injected: the handlers' options are configured with ExternalCallback, which needs
    // ExternalSignIn, which needs this (a refused sign-in's fresh token is revoked at once); injected, that is a cycle.
    private IOptionsMonitor<OpenIdConnectOptions> Handlers => services.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>();

    public async Task RevokeAsync(IReadOnlyList<ExternalIdentity> links, string why, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(links);
        foreach (var link in links)
        {
            if (link.ProtectedRefreshToken is not { } protectedToken)
            {
                continue;
            }

            var outcome = await RevokeOneAsync(link.Provider, protectedToken, cancellationToken);
            await changes.ApplyAsync(
                change =>
                {
                    // A refused first sign-in has no account to name (an empty user id): the event then has no target.
                    change.Audit(AuditActions.ExternalTokenRevoked, new Actor(ActorKind.System, null), link.UserId is { Length: > 0 } userId ? userId : null, null,
                        $"{link.Provider} {why} {outcome}");
                    return Task.FromResult(0);
                },
                CancellationToken.None);
        }
    }

    /// <returns><c>revoked</c>, or why not (<c>failed_400</c>, <c>unreachable</c>, <c>no_revocation_endpoint</c>, <c>provider_not_configured</c>, <c>unreadable</c>).</returns>
    private async Task<string> RevokeOneAsync(string providerName, string protectedToken, CancellationToken cancellationToken)
    {
        if (providers.Find(providerName) is not { } provider)
        {
            return "provider_not_configured";
        }

        string token;
        try
        {
            token = _protector.Unprotect(protectedToken);
        }
        catch (CryptographicException unreadable)
        {
            // A key ring that lost the key: nothing can be sent, and the token is gone from here anyway.
            RevocationFailed(logger, unreadable, providerName);
            return "unreadable";
        }

        try
        {
            var options = Handlers.Get(provider.Scheme);
            var configuration = await options.ConfigurationManager!.GetConfigurationAsync(cancellationToken);
            if (string.IsNullOrEmpty(configuration.RevocationEndpoint))
            {
                return "no_revocation_endpoint";
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, configuration.RevocationEndpoint)
            {
                Content = new FormUrlEncodedContent([new("token", token), new("token_type_hint", "refresh_token")]),
            };

            // RFC 6749 2.3.1: id and secret form-encoded, then joined and base64'd.
            var credentials = $"{Uri.EscapeDataString(provider.ClientId)}:{Uri.EscapeDataString(provider.ClientSecret)}";
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
            using var response = await options.Backchannel.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode ? "revoked" : $"failed_{(int)response.StatusCode}";
        }
        catch (Exception failure) when (failure is HttpRequestException or InvalidOperationException or OperationCanceledException or IOException)
        {
            RevocationFailed(logger, failure, providerName);
            return "unreachable";
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A refresh token could not be revoked at {Provider}; Tessera no longer keeps it.")]
    private static partial void RevocationFailed(ILogger logger, Exception failure, string provider);
}
