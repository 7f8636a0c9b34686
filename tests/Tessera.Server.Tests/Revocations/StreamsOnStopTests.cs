using System.Net.ServerSentEvents;
using Tessera.Server.Tests.Clients;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Revocations;

/// <summary>
/// A server that stops ends its open streams at once, so that their clients connect again (to this node once it is
/// back, or to another) instead of holding the graceful stop until its 30-second timeout.
/// </summary>
public sealed class StreamsOnStopTests
{
    private static readonly TimeSpan WellUnderTheShutdownTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Stopping_the_server_ends_its_revocation_and_event_streams()
    {
        await using var app = new TesseraApp(loopback: true);
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(app, "revocations");
        var user = await app.NewUserAsync();
        using var browser = app.WithToken(user.Token);
        await using var events = await EventStreamClient.ConnectAsync(browser);
        await using var revocations = await RevocationStreamClient.ConnectAndGreetAsync(app, clientId, secret);

        var stopped = app.StopAsync();

        await events.ExpectClosedAsync(WellUnderTheShutdownTimeout);
        await ExpectEndAsync(revocations);
        await stopped.WaitAsync(WellUnderTheShutdownTimeout, TestContext.Current.CancellationToken);
    }

    /// <summary>Reads heartbeats until the server ends the stream; fails if it goes on past the deadline.</summary>
    private static async Task ExpectEndAsync(RevocationStreamClient stream)
    {
        var deadline = DateTime.UtcNow + WellUnderTheShutdownTimeout;
        while (await stream.NextOrEndAsync() is SseItem<string> item)
        {
            Assert.Equal("heartbeat", item.EventType);
            Assert.True(DateTime.UtcNow < deadline, "The revocation stream went on while the server was stopping.");
        }
    }
}
