using Tessera.Core.Sessions;
using Tessera.Core.Users;
using Tessera.Server.Http;

namespace Tessera.Server.Authentication;

/// <summary>Marks an endpoint as needing a session that holds (and, with <see cref="Admin"/>, an admin behind it).</summary>
internal sealed record RequireSessionMetadata(bool Admin);

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

/// <summary>
/// CSRF protection for cookie-authenticated requests, by the browser's own fetch metadata: a state change must be
/// same-origin (Sec-Fetch-Site), or, from browsers that do not send that header, carry a matching Origin. Clients
/// that are not browsers send neither and are not at risk, since no other site can make them send the cookie.
/// </summary>
internal static class CrossSiteRequests
{
    public static bool IsSafe(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
        {
            return true;
        }

        var fetchSite = request.Headers["Sec-Fetch-Site"].ToString();
        if (fetchSite.Length > 0)
        {
            return fetchSite is "same-origin" or "none";
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        return Uri.TryCreate(origin, UriKind.Absolute, out var originUri)
            && string.Equals(originUri.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(originUri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }
}

internal static class SessionAuthenticationExtensions
{
    /// <summary>Every endpoint of the group needs a session that holds.</summary>
    public static RouteGroupBuilder RequireSession(this RouteGroupBuilder group) => group.WithMetadata(new RequireSessionMetadata(Admin: false));

    /// <summary>Every endpoint of the group needs a session that holds and an admin behind it.</summary>
    public static RouteGroupBuilder RequireAdmin(this RouteGroupBuilder group) => group.WithMetadata(new RequireSessionMetadata(Admin: true));
}
