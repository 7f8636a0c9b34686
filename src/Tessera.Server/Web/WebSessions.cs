using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.WebUtilities;
using Tessera.AspNetCore;
using Tessera.Core.Accounts;
using Tessera.Core.Sessions;
using Tessera.Server.Authentication;

namespace Tessera.Server.Web;

/// <summary>
/// The browser's session for the pages: the same <c>tessera_session</c> cookie the API reads, read by the same Tessera
/// scheme (<see cref="SessionVerdictSource"/> over the <see cref="SessionValidator"/>), and the sentences that tell a
/// person why a session ended.
/// </summary>
internal static class WebSessions
{
    public const string LoginPath = "/login";
    public const string HomePath = "/account";

    /// <summary>
    /// The request's session as the Tessera scheme reads it (the handler of the API and of relying apps, asked once per
    /// request): the check, and the token when the request carried one. A browser sends it in the cookie.
    /// </summary>
    public static async ValueTask<(SessionCheck Check, string? Token)> CheckAsync(HttpContext httpContext)
    {
        await httpContext.AuthenticateAsync(TesseraDefaults.AuthenticationScheme);
        return httpContext.GetTesseraVerdict()?.State switch
        {
            CurrentSession current => (current.Check, current.Token),
            RefusedSession refused => (refused.Check, refused.Token),
            _ => (SessionCheck.Unauthenticated, null),
        };
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
    /// Where to go after signing in: <paramref name="returnUrl"/> when it is a path on this site (never an open redirect
    /// to somebody else's, never back to the sign-in page), with anything beyond ASCII percent-encoded so that it can
    /// travel in a Location header; home otherwise. A path with control, format (bidi, zero-width) or space characters
    /// goes home too: a browser may drop them and read what is left (<c>/\u3000/evil.example</c>) as another host.
    /// </summary>
    public static string SafeReturnUrl(string? returnUrl)
    {
        if (string.IsNullOrEmpty(returnUrl)
            || returnUrl[0] != '/'
            || (returnUrl.Length > 1 && returnUrl[1] is '/' or '\\')
            || returnUrl.StartsWith(LoginPath, StringComparison.OrdinalIgnoreCase))
        {
            return HomePath;
        }

        var encoded = new StringBuilder(returnUrl.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in returnUrl.EnumerateRunes())
        {
            if (rune.Value <= 0x20 || rune.Value == 0x7F || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return HomePath;
            }

            if (rune.IsAscii)
            {
                encoded.Append((char)rune.Value);
                continue;
            }

            foreach (var b in utf8[..rune.EncodeToUtf8(utf8)])
            {
                encoded.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
            }
        }

        return encoded.ToString();
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
