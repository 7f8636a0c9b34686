using System.Net;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

/// <summary>
/// Behind a load balancer the socket's peer is the balancer: only a proxy the operator named may say who the client
/// is (<c>Tessera:ForwardedHeaders:TrustedProxies</c>), and nobody else's <c>X-Forwarded-For</c> counts.
/// </summary>
public sealed class TrustedProxyTests
{
    private const string Proxy = "198.51.100.10";

    [Fact]
    public async Task Behind_a_trusted_proxy_the_session_and_the_throttle_see_the_forwarded_client()
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?>
        {
            ["Tessera:ForwardedHeaders:TrustedProxies:0"] = "198.51.100.0/24",
            ["Tessera:RateLimiting:LoginPerIpPerMinute"] = "2",
        });
        var email = TesseraApp.NewEmail();
        await app.RegisterAsync(email);
        using var client = app.Anonymous();

        var first = await (await client.AttemptLogin(email, Proxy, forwardedFor: "203.0.113.7")).AssertOkJsonAsync();
        Assert.Equal("203.0.113.7", first.GetProperty("session").GetProperty("ipAddress").GetString());
        await (await client.AttemptLogin(email, Proxy, forwardedFor: "203.0.113.7")).AssertOkJsonAsync();

        // The proxy's own address is not what is counted: a third client through it still gets in; the first one does not.
        await (await client.AttemptLogin(email, Proxy, forwardedFor: "203.0.113.8")).AssertOkJsonAsync();
        await (await client.AttemptLogin(email, Proxy, forwardedFor: "203.0.113.7")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
    }

    [Fact]
    public async Task A_client_cannot_put_its_own_address_in_front_of_what_the_trusted_proxy_saw()
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?> { ["Tessera:ForwardedHeaders:TrustedProxies:0"] = Proxy });
        var email = TesseraApp.NewEmail();
        await app.RegisterAsync(email);
        using var client = app.Anonymous();

        // The proxy appends what it saw (203.0.113.9) to what the client sent (a made-up 10.1.2.3).
        var login = await (await client.AttemptLogin(email, Proxy, forwardedFor: "10.1.2.3, 203.0.113.9")).AssertOkJsonAsync();

        Assert.Equal("203.0.113.9", login.GetProperty("session").GetProperty("ipAddress").GetString());
    }

    [Fact]
    public async Task Without_trusted_proxies_forwarded_headers_are_ignored()
    {
        await using var app = new TesseraApp();
        var email = TesseraApp.NewEmail();
        await app.RegisterAsync(email);
        using var client = app.Anonymous();

        var login = await (await client.AttemptLogin(email, "192.0.2.44", forwardedFor: "203.0.113.7")).AssertOkJsonAsync();

        Assert.Equal("192.0.2.44", login.GetProperty("session").GetProperty("ipAddress").GetString());
    }

    [Fact]
    public async Task A_trusted_proxy_that_is_not_an_address_stops_the_server_at_start()
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?> { ["Tessera:ForwardedHeaders:TrustedProxies:0"] = "the-load-balancer" });

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => app.RegisterAsync(TesseraApp.NewEmail()));

        Assert.Contains("Tessera:ForwardedHeaders:TrustedProxies", failure.ToString(), StringComparison.Ordinal);
    }
}
