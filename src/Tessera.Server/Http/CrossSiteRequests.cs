namespace Tessera.Server.Http;

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
