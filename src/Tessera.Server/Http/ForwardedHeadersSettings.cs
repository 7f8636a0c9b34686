namespace Tessera.Server.Http;

/// <summary>
/// Which reverse proxies or load balancers may tell Tessera the client's address and scheme (<c>X-Forwarded-For</c>,
/// <c>X-Forwarded-Proto</c>). Empty (the default): the socket's peer is the client, and those headers are ignored, so
/// that no client can choose its own address for throttling, the session list and the audit log.
/// </summary>
internal sealed class ForwardedHeadersSettings
{
    /// <summary>Addresses (<c>10.0.0.5</c>) or networks (<c>10.0.0.0/8</c>) of the proxies in front of this node.</summary>
    public IList<string> TrustedProxies { get; } = [];
}
