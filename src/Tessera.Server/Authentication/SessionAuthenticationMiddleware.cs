using Tessera.Core.Sessions;
using Tessera.Core.Users;
using Tessera.Server.Http;

namespace Tessera.Server.Authentication;

/// <summary>
/// Lets a request to a marked endpoint through only with a session that holds: checks the token on every
/// request (a cache hit costs no I/O), refuses cross-site state changes made with the cookie, and checks the
/// admin role on the server. Runs after routing and before parameter binding, so handlers can take
/// <see cref="CurrentSession"/> as a parameter.
/// </summary>
internal sealed class SessionAuthenticationMiddleware(RequestDelegate next, SessionValidator validator)
{
    public async Task InvokeAsync(HttpContext httpContext)
    {
        var requirement = httpContext.GetEndpoint()?.Metadata.GetMetadata<RequireSessionMetadata>();
        if (requirement is null)
        {
            await next(httpContext);
            return;
        }

        var token = SessionCredentials.Read(httpContext.Request, out var viaCookie);
        var check = await validator.CheckAsync(token, httpContext.RequestAborted);
        if (!check.Holds || check.Entry is null)
        {
            httpContext.Response.Headers.WWWAuthenticate = "Bearer";
            await Problems.SessionRejected(check.Verdict).ExecuteAsync(httpContext);
            return;
        }

        if (viaCookie && !CrossSiteRequests.IsSafe(httpContext.Request))
        {
            await Problems.Create(StatusCodes.Status403Forbidden, "csrf_failed",
                "A cookie-authenticated change must come from this site. Send the session as a Bearer token from other origins.")
                .ExecuteAsync(httpContext);
            return;
        }

        var current = new CurrentSession(check.Entry, token!, viaCookie);
        if (requirement.Admin && current.User.Role != UserRole.Admin)
        {
            await Problems.Forbidden("This needs an admin account.").ExecuteAsync(httpContext);
            return;
        }

        httpContext.Features.Set(current);
        await next(httpContext);
    }
}
