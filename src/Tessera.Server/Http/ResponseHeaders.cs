namespace Tessera.Server.Http;

/// <summary>
/// Headers every answer carries unless its endpoint chose its own: <c>Cache-Control: no-store</c> (the login answer
/// carries a token, every other one personal data that no cache may keep after the session behind it has ended) and
/// <c>X-Content-Type-Options: nosniff</c>. Set as the response starts, so that problems written after an exception
/// (which clears the headers) carry them too. Pages, static files and the event stream set their own Cache-Control.
/// </summary>
internal static class ResponseHeaders
{
    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(static state =>
        {
            Apply((HttpResponse)state);
            return Task.CompletedTask;
        }, context.Response);
        return next(context);
    }

    /// <summary>The headers themselves, for a short-circuit endpoint that the middleware does not run for.</summary>
    public static void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        if (string.IsNullOrEmpty(headers.CacheControl))
        {
            headers.CacheControl = "no-store";
        }

        headers.XContentTypeOptions = "nosniff";
    }
}
