using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core;
using Tessera.Core.ExternalLogin;
using Tessera.Server.Authentication;
using Tessera.Server.Http;
using Tessera.Server.Web;

namespace Tessera.Server.ExternalLogin;

/// <summary>/v1/auth/external: the providers to draw buttons for, the start of a provider's round trip, the caller's links.</summary>
internal static class ExternalLoginApi
{
    public static IEndpointRouteBuilder MapExternalLoginApi(this IEndpointRouteBuilder endpoints)
    {
        var anonymous = endpoints.MapGroup("/v1/auth/external").WithTags("External sign-in");
        anonymous.MapGet("/providers", ListProviders);
        anonymous.MapGet("/{provider}/start", StartAsync);

        var signedIn = endpoints.MapGroup("/v1/auth/external").WithTags("External sign-in").RequireSession();
        signedIn.MapGet("/identities", ListIdentitiesAsync);
        signedIn.MapDelete("/identities/{provider}", UnlinkAsync);
        return endpoints;
    }

    /// <summary>GET /v1/auth/external/providers: <c>{providers: [{name, displayName}]}</c>, Google first.</summary>
    private static Ok<ExternalProvidersResponse> ListProviders(ExternalProviders providers) =>
        TypedResults.Ok(new ExternalProvidersResponse([.. providers.All.Select(p => new ExternalProviderDto(p.Name, p.DisplayName))]));

    /// <summary>
    /// GET /v1/auth/external/{provider}/start?returnUrl=: a redirect to the provider with state, nonce and a PKCE
    /// challenge; its answer comes back to <c>/v1/auth/external/{provider}/callback</c>, which the handler serves.
    /// </summary>
    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> StartAsync(
        string provider, string? returnUrl, ExternalProviders providers, HttpContext httpContext)
    {
        if (providers.Find(provider) is not { } found)
        {
            return Problems.Create(ErrorCodes.UnknownProvider, $"No sign-in provider is called '{provider}'. GET /v1/auth/external/providers lists them.");
        }

        var properties = new AuthenticationProperties { RedirectUri = WebSessions.HomePath };
        properties.Items[ExternalCallback.ReturnUrlItem] = WebSessions.SafeReturnUrl(returnUrl);
        await httpContext.ChallengeAsync(found.Scheme, properties);
        return TypedResults.Empty;
    }

    /// <summary>GET /v1/auth/external/identities: the sign-in methods linked to the caller, oldest first.</summary>
    private static async Task<Ok<ExternalIdentitiesResponse>> ListIdentitiesAsync(
        CurrentSession current, ExternalIdentities identities, ExternalProviders providers, HttpContext httpContext)
    {
        var links = await identities.ListAsync(current.User.Id, httpContext.RequestAborted);
        return TypedResults.Ok(new ExternalIdentitiesResponse([.. links.Select(link => new ExternalIdentityDto(
            link.Provider, providers.Find(link.Provider)?.DisplayName ?? link.Provider, link.Email, link.LinkedAt, link.LastUsedAt))]));
    }

    /// <summary>
    /// DELETE /v1/auth/external/identities/{provider}: unlinks the caller's sign-in at that provider while another way in
    /// remains (a password or another link); its refresh token, if one is kept, is revoked at the provider.
    /// </summary>
    private static async Task<NoContent> UnlinkAsync(
        string provider, CurrentSession current, ExternalIdentities identities, IProviderTokenRevoker tokens, HttpContext httpContext)
    {
        var removed = await identities.UnlinkAsync(current.User.Id, provider, httpContext.ClientIp(), httpContext.RequestAborted);
        await tokens.RevokeAsync(removed, "unlinked", httpContext.RequestAborted);
        return TypedResults.NoContent();
    }
}

public sealed record ExternalProviderDto(string Name, string DisplayName);

public sealed record ExternalProvidersResponse(IReadOnlyList<ExternalProviderDto> Providers);

/// <param name="DisplayName">The provider's name as configured now; its bare name when it is no longer configured.</param>
public sealed record ExternalIdentityDto(string Provider, string DisplayName, string? Email, DateTimeOffset LinkedAt, DateTimeOffset? LastUsedAt);

public sealed record ExternalIdentitiesResponse(IReadOnlyList<ExternalIdentityDto> Identities);
