namespace Tessera.Server.Authentication;

/// <summary>
/// The <c>tessera_session</c> cookie that carries a browser's session token. Requests are read by the Tessera scheme
/// (<see cref="SessionAuthenticationExtensions.AddTesseraSessions"/>): <c>Authorization: Bearer</c> wins when present.
/// </summary>
internal static class SessionCredentials
{
    public const string CookieName = "tessera_session";

    public static void SetCookie(HttpResponse response, string token, DateTimeOffset expiresAt, bool secure) =>
        response.Cookies.Append(CookieName, token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = secure,
            Path = "/",
            Expires = expiresAt,
            IsEssential = true,
        });

    public static void ClearCookie(HttpResponse response, bool secure) =>
        response.Cookies.Delete(CookieName, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = secure, Path = "/" });
}
