namespace Tessera.Server.Authentication;

/// <summary>Where a request carries its session token: <c>Authorization: Bearer</c> or the <c>tessera_session</c> cookie.</summary>
internal static class SessionCredentials
{
    public const string CookieName = "tessera_session";

    /// <summary>The Bearer token wins when both are present: an API client's explicit choice.</summary>
    public static string? Read(HttpRequest request, out bool viaCookie)
    {
        viaCookie = false;
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0)
        {
            var value = authorization[0];
            return value is not null && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value[7..].Trim() : null;
        }

        if (request.Cookies.TryGetValue(CookieName, out var cookie))
        {
            viaCookie = true;
            return cookie;
        }

        return null;
    }

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
