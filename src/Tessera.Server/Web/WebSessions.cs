using Microsoft.AspNetCore.WebUtilities;
using Tessera.Core.Accounts;
using Tessera.Core.Sessions;
using Tessera.Server.Authentication;

namespace Tessera.Server.Web;

/// <summary>
/// The browser's session for the pages: the same <c>tessera_session</c> cookie the API reads, checked by the same
/// <see cref="SessionValidator"/>, and the sentences that tell a person why a session ended.
/// </summary>
internal static class WebSessions
{
    public const string LoginPath = "/login";
    public const string HomePath = "/account";

    /// <summary>The cookie's token, or null. Pages read only the cookie: a browser has no other way to send it.</summary>
    public static string? ReadToken(HttpRequest request) =>
        request.Cookies.TryGetValue(SessionCredentials.CookieName, out var token) && !string.IsNullOrEmpty(token) ? token : null;

    public static async ValueTask<(SessionCheck Check, string? Token)> CheckAsync(HttpContext httpContext)
    {
        var token = ReadToken(httpContext.Request);
        if (token is null)
        {
            return (SessionCheck.Unauthenticated, null);
        }

        var validator = httpContext.RequestServices.GetRequiredService<SessionValidator>();
        return (await validator.CheckAsync(token, httpContext.RequestAborted), token);
    }

    /// <summary>Sets the cookie exactly as <c>POST /v1/auth/login</c> with <c>useCookie</c> does.</summary>
    public static void SignIn(HttpContext httpContext, LoginResult result) =>
        SessionCredentials.SetCookie(httpContext.Response, result.Token, result.Session.AbsoluteExpiresAt, httpContext.Request.IsHttps);

    public static void ClearCookie(HttpContext httpContext) =>
        SessionCredentials.ClearCookie(httpContext.Response, httpContext.Request.IsHttps);

    /// <summary><c>/login</c>, with the reason a session ended and where to go back to after signing in.</summary>
    public static string LoginUrl(string? returnUrl = null, string? ended = null)
    {
        var url = LoginPath;
        if (!string.IsNullOrEmpty(ended))
        {
            url = QueryHelpers.AddQueryString(url, "ended", ended);
        }

        if (!string.IsNullOrEmpty(returnUrl) && returnUrl != HomePath)
        {
            url = QueryHelpers.AddQueryString(url, "returnUrl", returnUrl);
        }

        return url;
    }

    /// <summary>
    /// The sentence for a reason name from the event stream or a redirect (<c>user_banned</c>, <c>revoked_by_user</c>,
    /// <c>session_expired</c>…), worded by the same <see cref="SessionVerdict.EndedMessage"/> the API sends. Unknown
    /// names get nothing: the page never echoes text from its URL.
    /// </summary>
    public static string? DescribeEnded(string? ended)
    {
        if (ended == SessionVerdict.Expired.EndedReasonName)
        {
            return SessionVerdict.Expired.EndedMessage;
        }

        if (!RevocationReasons.TryParse(ended, out var reason))
        {
            return null;
        }

        var verdict = reason switch
        {
            RevocationReason.UserDeactivated => new SessionVerdict(SessionVerdictKind.AccountDeactivated),
            RevocationReason.UserBanned => new SessionVerdict(SessionVerdictKind.AccountBanned),
            RevocationReason.UserDeleted => new SessionVerdict(SessionVerdictKind.AccountDeleted),
            _ => new SessionVerdict(SessionVerdictKind.Revoked, reason),
        };
        return verdict.EndedMessage;
    }
}
