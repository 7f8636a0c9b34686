using System.Net;
using System.Text.Json;
using Tessera.Server.Tests.Clients;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Revocations;

/// <summary>The revocation stream's settings are checked at start, and its client authentication is throttled like /oauth2's.</summary>
public sealed class RevocationSettingsTests
{
    [Theory]
    [InlineData("Tessera:Clients:RevocationLease", "00:00:00", "Tessera:Clients:RevocationLease")]
    [InlineData("Tessera:Clients:RevocationLease", "00:02:00", "Tessera:Clients:RevocationLease")]
    [InlineData("Tessera:Clients:RevocationHeartbeat", "00:00:00.500", "a third of Tessera:Clients:RevocationLease")]
    [InlineData("Tessera:Clients:RevocationHeartbeat", "00:00:00", "Tessera:Clients:RevocationHeartbeat")]
    [InlineData("Tessera:Clients:MaxRevocationStreamsPerClient", "0", "Tessera:Clients:MaxRevocationStreamsPerClient")]
    public async Task A_setting_that_cannot_work_stops_the_server_with_a_message_that_names_it(string key, string value, string named)
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?> { [key] = value });
        var failure = Assert.ThrowsAny<Exception>(() => app.Anonymous().Dispose());
        Assert.Contains(named, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_lease_and_heartbeat_settings_are_what_hello_says()
    {
        await using var app = new TesseraApp(loopback: true, settings: new Dictionary<string, string?>
        {
            ["Tessera:Clients:RevocationLease"] = "00:00:03",
            ["Tessera:Clients:RevocationHeartbeat"] = "00:00:01",
        });
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(app, "revocations");
        await using var stream = await RevocationStreamClient.ConnectAsync(app, clientId, secret);
        Assert.Equal("reset", (await stream.NextAsync()).EventType);
        var hello = RevocationStreamClient.Data(await stream.NextAsync());
        Assert.Equal((3000, 1000), (hello.GetProperty("lease").GetInt64(), hello.GetProperty("heartbeat").GetInt64()));
    }

    [Fact]
    public async Task Failed_client_authentications_from_one_address_are_throttled_even_for_the_right_secret()
    {
        await using var app = new TesseraApp(settings: new Dictionary<string, string?>
        {
            ["Tessera:RateLimiting:FailedClientAuthenticationsBeforeBackoff"] = "3",
        });
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(app, "revocations");
        using var http = app.Anonymous();
        var ack = JsonSerializer.Serialize(new { stream = "local~x", through = 1 });
        for (var i = 0; i < 3; i++)
        {
            await (await RevocationStreamClient.PostAckAsync(http, OAuthRequests.Basic(clientId, "wrong"), ack)).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_client");
        }

        var throttled = await RevocationStreamClient.PostAckAsync(http, OAuthRequests.Basic(clientId, secret), ack);
        var problem = await throttled.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.True(problem.GetProperty("retryAfter").GetInt32() >= 1);
        Assert.NotNull(throttled.Headers.RetryAfter);
    }
}
