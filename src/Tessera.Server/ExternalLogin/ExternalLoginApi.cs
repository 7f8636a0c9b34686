using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Devices;
using Tessera.Core.ExternalLogin;
using Tessera.Core.Sessions;
using Tessera.Server.Authentication;
using Tessera.Server.Contracts;
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
        anonymous.MapPost("/exchange", ExchangeAsync);

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
    /// A desktop or CLI client adds <c>redirect_uri</c> (its loopback listener), <c>code_challenge</c>,
    /// <c>code_challenge_method=S256</c> and <c>state</c>: the callback then sends the browser to that listener with a
    /// one-time code instead of setting a cookie (RFC 8252), and the client exchanges it at <c>POST /v1/auth/external/exchange</c>.
    /// </summary>
    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> StartAsync(
        string provider,
        string? returnUrl,
        [FromQuery(Name = "redirect_uri")] string? redirectUri,
        [FromQuery(Name = "code_challenge")] string? codeChallenge,
        [FromQuery(Name = "code_challenge_method")] string? codeChallengeMethod,
        string? state,
        ExternalProviders providers,
        HttpContext httpContext)
    {
        if (providers.Find(provider) is not { } found)
        {
            return Problems.Create(ErrorCodes.UnknownProvider, $"No sign-in provider is called '{provider}'. GET /v1/auth/external/providers lists them.");
        }

        if (LoopbackRedirect.TryRead(redirectUri, codeChallenge, codeChallengeMethod, state, out var loopback) is { } refusal)
        {
            return Problems.From(refusal);
        }

        var properties = new AuthenticationProperties { RedirectUri = WebSessions.HomePath };
        properties.Items[ExternalCallback.ReturnUrlItem] = WebSessions.SafeReturnUrl(returnUrl);
        loopback?.WriteTo(properties);
        await httpContext.ChallengeAsync(found.Scheme, properties);
        return TypedResults.Empty;
    }

    /// <summary>
    /// POST /v1/auth/external/exchange <c>{code, codeVerifier, device?}</c>: a native client's one-time code from its loopback
    /// redirect, with the PKCE verifier behind the challenge it started with, for a session on its device; the same body as
    /// the password login. The code works once, for a minute, and the one rule is asked again.
    /// </summary>
    private static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> ExchangeAsync(
        LoopbackExchangeBody? body, ExternalSignIn signIn, SessionService sessions, TimeProvider clock, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {code, codeVerifier, device?}.");
        }

        var device = body.Device is { } d ? new DeviceDescription(d.Name, d.Platform, d.Os) : null;
        var result = await signIn.ExchangeLoopbackCodeAsync(
            new LoopbackExchange(body.Code, body.CodeVerifier, device, httpContext.UserAgent(), httpContext.ClientIp()), httpContext.RequestAborted);
        var session = result.Session;
        return TypedResults.Ok(new LoginResponse(
            result.Token, SessionDto.From(sessions.Describe(session, session.LastActiveAt), session.Id), UserDto.From(result.User, clock.GetUtcNow())));
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

/// <param name="Code">The one-time code from the loopback redirect.</param>
/// <param name="CodeVerifier">The PKCE verifier whose S256 challenge the start received.</param>
/// <param name="Device">The device as the client names it, as at the password login.</param>
public sealed record LoopbackExchangeBody(string? Code, string? CodeVerifier, DeviceRequest? Device);
