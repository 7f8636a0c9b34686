using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Tessera.AspNetCore;
using Tessera.Core;
using Tessera.Core.Users;
using Tessera.Server.Http;

namespace Tessera.Server.Authentication;

/// <summary>
/// How Tessera's own endpoints and pages read a session: the Tessera scheme of <c>Tessera.AspNetCore</c>, the handler
/// relying apps use, with verdicts from <see cref="SessionVerdictSource"/> in process; and the two policies endpoints
/// require (a session that holds, made same-site when made with the cookie; the admin policy adds the role).
/// </summary>
internal static class SessionAuthenticationExtensions
{
    /// <summary>A session that holds; a change made with the cookie must come from this site.</summary>
    public const string SessionPolicy = "tessera-session";

    /// <summary>The same, and an admin behind it.</summary>
    public const string AdminPolicy = "tessera-admin";

    /// <summary>
    /// The scheme (no default scheme: a request is authenticated only where a policy or a page asks, so that public
    /// endpoints, assets and pages do not count as use of a session) and the policies.
    /// </summary>
    public static IHostApplicationBuilder AddTesseraSessions(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddAuthentication().AddTessera<SessionVerdictSource>(TesseraDefaults.AuthenticationScheme, options =>
        {
            // The token is read as SessionCredentials writes it: Authorization: Bearer first, else tessera_session.
            options.Cookie.Name = SessionCredentials.CookieName;
        });
        // Not even the only scheme as the default (ASP.NET Core makes a single scheme the default): the authentication
        // middleware would then read every request's token, and count it as use of the session.
        services.Replace(ServiceDescriptor.Singleton<IAuthenticationSchemeProvider, ExplicitSchemesOnly>());
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, SessionRefusals>();
        services.AddSingleton<SessionCheckEndpoints>();
        services.AddAuthorizationBuilder()
            .AddPolicy(SessionPolicy, policy => policy
                .AddAuthenticationSchemes(TesseraDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(SameSiteChange.Instance))
            .AddPolicy(AdminPolicy, policy => policy
                .AddAuthenticationSchemes(TesseraDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(SameSiteChange.Instance)
                .RequireRole(WireNames.RoleName(UserRole.Admin)));
        return builder;
    }

    /// <summary>Every endpoint of the group needs a session that holds.</summary>
    public static RouteGroupBuilder RequireSession(this RouteGroupBuilder group) => group.RequireAuthorization(SessionPolicy);

    /// <summary>Every endpoint of the group needs a session that holds and an admin behind it.</summary>
    public static RouteGroupBuilder RequireAdmin(this RouteGroupBuilder group) => group.RequireAuthorization(AdminPolicy);
}

/// <summary>The schemes as registered, with no default of any kind: a scheme is used only where it is named.</summary>
internal sealed class ExplicitSchemesOnly(IOptions<AuthenticationOptions> options) : AuthenticationSchemeProvider(options)
{
    private static readonly Task<AuthenticationScheme?> None = Task.FromResult<AuthenticationScheme?>(null);

    public override Task<AuthenticationScheme?> GetDefaultAuthenticateSchemeAsync() => None;

    public override Task<AuthenticationScheme?> GetDefaultChallengeSchemeAsync() => None;

    public override Task<AuthenticationScheme?> GetDefaultForbidSchemeAsync() => None;

    public override Task<AuthenticationScheme?> GetDefaultSignInSchemeAsync() => None;

    public override Task<AuthenticationScheme?> GetDefaultSignOutSchemeAsync() => None;
}

/// <summary>
/// CSRF for the API: a state change authenticated by the cookie (as the handler read it) must be same-site
/// (<see cref="CrossSiteRequests"/>); one with a Bearer token needs nothing more.
/// </summary>
internal sealed class SameSiteChange : AuthorizationHandler<SameSiteChange>, IAuthorizationRequirement
{
    public static readonly SameSiteChange Instance = new();

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SameSiteChange requirement)
    {
        if (context.Resource is HttpContext httpContext
            && CurrentSession.Of(httpContext) is { } current
            && (!current.ViaCookie || CrossSiteRequests.IsSafe(httpContext.Request)))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Tessera's refusals for its policies, in the contract's shape: 401 with the session's code, reason and bannedUntil
/// (and <c>WWW-Authenticate: Bearer</c>), 403 <c>csrf_failed</c> for a cross-site change made with the cookie, 403
/// <c>forbidden</c> for a non-admin; in that order, as the contract has it.
/// </summary>
internal sealed class SessionRefusals : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded || !policy.AuthenticationSchemes.Contains(TesseraDefaults.AuthenticationScheme))
        {
            return _default.HandleAsync(next, context, policy, authorizeResult);
        }

        if (authorizeResult.Challenged)
        {
            var verdict = context.GetTesseraVerdict()?.State is RefusedSession refused ? refused.Check.Verdict : Core.Sessions.SessionVerdict.Unauthenticated;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Problems.SessionRejected(verdict).ExecuteAsync(context);
        }

        if (authorizeResult.AuthorizationFailure?.FailedRequirements.Contains(SameSiteChange.Instance) == true)
        {
            return Problems.Create(StatusCodes.Status403Forbidden, "csrf_failed",
                "A cookie-authenticated change must come from this site. Send the session as a Bearer token from other origins.")
                .ExecuteAsync(context);
        }

        return Problems.Forbidden("This needs an admin account.").ExecuteAsync(context);
    }
}
