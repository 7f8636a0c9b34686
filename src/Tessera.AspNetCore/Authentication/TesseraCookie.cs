using Microsoft.AspNetCore.Http;

namespace Tessera.AspNetCore.Authentication;

/// <summary>The app's cookie, deleted for real.</summary>
internal static class TesseraCookie
{
    /// <summary>
    /// Deletes the cookie with the attributes it was set with, but without its Max-Age: <c>Delete</c> copies Max-Age
    /// beside the past Expires it sets, and browsers give Max-Age precedence, so the cookie would stay.
    /// </summary>
    public static void Delete(HttpContext context, TesseraAuthenticationOptions options)
    {
        var cookie = options.Cookie.Build(context);
        cookie.MaxAge = null;
        context.Response.Cookies.Delete(options.Cookie.Name!, cookie);
    }
}
