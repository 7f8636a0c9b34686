namespace Tessera.Server.Http;

internal static class RequestInfo
{
    /// <summary>The client's IP as this server sees it (put Tessera behind a proxy with forwarded headers configured).</summary>
    public static string? ClientIp(this HttpContext httpContext) => httpContext.Connection.RemoteIpAddress?.ToString();

    public static string? UserAgent(this HttpContext httpContext)
    {
        var userAgent = httpContext.Request.Headers.UserAgent.ToString();
        return userAgent.Length == 0 ? null : userAgent;
    }
}
