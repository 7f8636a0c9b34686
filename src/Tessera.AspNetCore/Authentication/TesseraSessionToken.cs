using Microsoft.AspNetCore.Http;

namespace Tessera.AspNetCore.Authentication;

/// <summary>
/// Where a request carries its Tessera session token, read one way everywhere (Tessera's own endpoints and every app's
/// handler): the first <c>Authorization</c> header alone when there is one (<c>Bearer</c>, any case), else the cookie.
/// An <c>Authorization</c> header of another scheme means no token, never a fall-back to the cookie.
/// </summary>
public static class TesseraSessionToken
{
    private const string Bearer = "Bearer ";

    /// <summary>The token, or null when the request carries none; <paramref name="viaCookie"/> says it came by the cookie.</summary>
    public static string? Read(HttpRequest request, string cookieName, out bool viaCookie)
    {
        ArgumentNullException.ThrowIfNull(request);
        viaCookie = false;
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0)
        {
            var value = authorization[0] ?? string.Empty;
            return value.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) && value.Length > Bearer.Length
                ? value[Bearer.Length..].Trim()
                : null;
        }

        if (request.Cookies.TryGetValue(cookieName, out var cookie) && !string.IsNullOrEmpty(cookie))
        {
            viaCookie = true;
            return cookie;
        }

        return null;
    }
}
