using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Tessera.Server.Hosting;

namespace Tessera.Server.Http;

internal static class TrustedProxies
{
    /// <summary>
    /// Behind trusted proxies only (<c>Tessera:ForwardedHeaders:TrustedProxies</c>): takes the client's address and
    /// scheme from <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>, walking back through as many trusted hops as
    /// there are, and stopping at the first address that is not trusted (a client cannot prepend its own). First in the
    /// pipeline, so that throttling, sessions, the audit log and the cookie's Secure flag all see the same client.
    /// </summary>
    public static WebApplication UseTrustedProxies(this WebApplication app)
    {
        var trusted = app.Services.GetRequiredService<IOptions<TesseraServerOptions>>().Value.ForwardedHeaders.TrustedProxies;
        if (trusted.Count == 0)
        {
            return app;
        }

        var forwarding = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = null,
        };
        forwarding.KnownProxies.Clear();
        forwarding.KnownIPNetworks.Clear();
        foreach (var entry in trusted)
        {
            if (System.Net.IPNetwork.TryParse(entry, out var network))
            {
                forwarding.KnownIPNetworks.Add(network);
            }
            else
            {
                forwarding.KnownProxies.Add(System.Net.IPAddress.Parse(entry));
            }
        }

        app.UseForwardedHeaders(forwarding);
        return app;
    }
}
