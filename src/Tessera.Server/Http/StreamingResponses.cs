namespace Tessera.Server.Http;

/// <summary>What the long-lived responses (the event streams) share.</summary>
internal static class StreamingResponses
{
    /// <summary>
    /// Fires when the client goes away or the server begins to stop. A stream that waits only for its client would hold a
    /// graceful stop until the shutdown timeout (30 s) runs out; ended at once, its client connects again, to this
    /// node once it is back or to another.
    /// </summary>
    public static CancellationToken StreamAborted(this HttpContext httpContext)
    {
        var stopping = httpContext.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var either = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, stopping);
        httpContext.Response.RegisterForDispose(either);
        return either.Token;
    }
}
