using System.Net.Http.Json;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tessera.Testing;

namespace Tessera.Client.Tests;

/// <summary>A session past its idle timeout (the server's clock moved on): <c>session_expired</c>, for a call and for the watcher.</summary>
public sealed class ExpiryTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_expired_session_is_session_expired_for_a_call_and_ends_the_watchers_session_once()
    {
        var serverClock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = new LoopbackTesseraServer(clock: serverClock);
        server.Start();
        var tessera = new Uri(server.BaseUrl);
        var email = $"u{Guid.NewGuid():N}@example.test";
        using (var anonymous = server.Api())
        {
            using var registered = await anonymous.PostAsJsonAsync("/v1/auth/register", new { email, password = LoopbackTesseraServer.Password }, Cancellation);
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        var watchedStore = new MemoryTokenStore();
        using var watched = new TesseraClient(new TesseraClientOptions { Authority = tessera, TokenStore = watchedStore, Device = new DeviceInfo("A", "desktop", null) });
        using var called = new TesseraClient(new TesseraClientOptions { Authority = tessera, TokenStore = new MemoryTokenStore(), Device = new DeviceInfo("B", "desktop", null) });
        await watched.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await called.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await using var watcher = watched.CreateWatcher();
        var probe = new WatcherProbe(watcher);
        watcher.Start();
        await probe.StateAsync(SessionWatcherState.Live);

        // Eight days unused: past the 7-day idle timeout. The server notices at its next tick, or at the next call.
        serverClock.Advance(TimeSpan.FromDays(8));

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => called.GetCurrentSessionAsync(Cancellation));
        Assert.Equal(TesseraErrorCodes.SessionExpired, refused.Code);
        Assert.True(refused.SessionEnded);
        Assert.False(called.IsSignedIn);

        var ended = await probe.UntilAsync(
            () =>
            {
                serverClock.Advance(TimeSpan.FromSeconds(20));
                return probe.Ended is [var first, ..] ? first : null;
            },
            "SessionEnded for the expired session");
        Assert.Equal("session_expired", ended.Reason);
        Assert.Equal("Your session has expired. Please sign in again.", ended.Sentence);
        await watcher.CheckNowAsync(Cancellation);
        Assert.Single(probe.Ended);
        Assert.Null(watchedStore.Load());
    }
}
