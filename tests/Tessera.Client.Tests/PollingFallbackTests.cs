using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tessera.Testing;

namespace Tessera.Client.Tests;

/// <summary>A server that lets one stream per session, so that a second one is refused with 429 and the watcher falls back to polling.</summary>
public sealed class OneStreamTessera() : RealTessera(new Dictionary<string, string?>
{
    ["Tessera:Sessions:MaxEventStreamsPerSession"] = "1",
});

public sealed class PollingFallbackTests(OneStreamTessera tessera) : IClassFixture<OneStreamTessera>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_stream_refused_again_and_again_falls_back_to_polling_only_in_the_foreground()
    {
        var (email, _) = await tessera.NewUserAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new MemoryTokenStore();
        using var client = tessera.NewClient(store, clock);
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);

        // Another copy of the app holds the session's only stream.
        using var other = tessera.Server.Api(store.Load());
        using var held = await other.GetAsync("/v1/events", HttpCompletionOption.ResponseHeadersRead, Cancellation);
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);

        await using var watcher = client.CreateWatcher();
        var probe = new WatcherProbe(watcher);
        watcher.Start();
        await probe.StateAsync(SessionWatcherState.Polling, clock);

        // In the background nothing is polled: an end elsewhere waits for the foreground.
        watcher.SetForeground(false);
        await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-others");
        for (var step = 0; step < 24; step++)
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(5, Cancellation);
        }

        Assert.Empty(probe.Ended);
        Assert.NotNull(store.Load());

        watcher.SetForeground(true);

        Assert.Equal("signed_out_other_devices", (await probe.EndedAsync(clock)).Reason);
        Assert.Null(store.Load());
        Assert.Single(probe.Ended);
    }
}
