using Microsoft.Extensions.Time.Testing;
using Tessera.Testing;

namespace Tessera.Client.Tests;

/// <summary>
/// The watcher behind a TCP proxy that stalls, resets and closes its connections, on a fake clock (so that ping
/// timeouts, request timeouts and backoff pass without real waiting): a lost network is <c>Offline</c>, never a sign-out,
/// and once it is back the watcher learns the truth.
/// </summary>
public sealed class NetworkFaultTests(RealTessera tessera) : IClassFixture<RealTessera>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_minutes_without_network_never_sign_out_and_the_stream_comes_back_live()
    {
        await using var setup = await WatchThroughProxyAsync();
        var (proxy, clock, store, _, probe) = setup;

        proxy.Blackhole();
        await probe.StateAsync(SessionWatcherState.Offline, clock);
        var start = clock.GetUtcNow();
        while (clock.GetUtcNow() - start < TimeSpan.FromMinutes(10))
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(5, Cancellation);
            Assert.NotEqual(SessionWatcherState.Ended, probe.Watcher.State);
            Assert.NotEqual(SessionWatcherState.SignedOut, probe.Watcher.State);
        }

        Assert.NotNull(store.Load());
        Assert.Empty(probe.Ended);
        proxy.Heal();
        await probe.StateAsync(SessionWatcherState.Live, clock);
        Assert.Empty(probe.Ended);
        Assert.NotNull(store.Load());
    }

    [Fact]
    public async Task A_session_ended_during_the_outage_is_learned_in_one_check_once_the_network_is_back()
    {
        await using var setup = await WatchThroughProxyAsync();
        var (proxy, clock, store, email, probe) = setup;
        proxy.Blackhole();
        await probe.StateAsync(SessionWatcherState.Offline, clock);

        // Ended elsewhere while this device has no network: it cannot know yet, and does not guess.
        await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-all");
        for (var step = 0; step < 120; step++)
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(5, Cancellation);
        }

        Assert.Empty(probe.Ended);
        Assert.NotNull(store.Load());

        proxy.Heal();
        await probe.Watcher.CheckNowAsync(Cancellation);

        var ended = Assert.Single(probe.Ended);
        Assert.Equal("signed_out_all_devices", ended.Reason);
        Assert.Null(store.Load());
        await probe.StateAsync(SessionWatcherState.Ended, clock);
        Assert.Single(probe.Ended);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_cut_connection_reconnects_and_never_ends_the_session(bool reset)
    {
        await using var setup = await WatchThroughProxyAsync();
        var (proxy, clock, store, email, probe) = setup;
        var before = probe.States.Count;

        proxy.Cut(reset);

        await probe.UntilAsync(() => probe.States.Skip(before).Any(state => state != SessionWatcherState.Live) ? "left Live" : null, "the cut to be seen", clock);
        await probe.StateAsync(SessionWatcherState.Live, clock);
        Assert.Empty(probe.Ended);
        Assert.NotNull(store.Load());

        // The new stream works: an end elsewhere arrives on it.
        await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-others");
        Assert.Equal("signed_out_other_devices", (await probe.EndedAsync(clock)).Reason);
    }

    [Fact]
    public async Task A_stream_that_goes_silent_counts_as_dead_past_the_ping_timeout_and_is_replaced()
    {
        await using var setup = await WatchThroughProxyAsync();
        var (proxy, clock, store, _, probe) = setup;

        proxy.Blackhole();
        clock.Advance(TimeSpan.FromSeconds(49));
        await Task.Delay(50, Cancellation);
        Assert.Equal(SessionWatcherState.Live, probe.Watcher.State);
        await probe.StateAsync(SessionWatcherState.Offline, clock);
        proxy.Heal();

        await probe.StateAsync(SessionWatcherState.Live, clock);
        Assert.NotNull(store.Load());
    }

    private async Task<Setup> WatchThroughProxyAsync()
    {
        var (email, _) = await tessera.NewUserAsync();
        var proxy = new TcpChaosProxy(new Uri(tessera.Server.BaseUrl).Port);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new MemoryTokenStore();
        var client = tessera.NewClient(store, clock, new Uri($"http://{proxy.Endpoint}/"));
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        var watcher = client.CreateWatcher();
        var probe = new WatcherProbe(watcher);
        watcher.Start();
        await probe.StateAsync(SessionWatcherState.Live);
        return new Setup(proxy, clock, store, email, probe, client);
    }

    private sealed record Setup(TcpChaosProxy Proxy, FakeTimeProvider Clock, MemoryTokenStore Store, string Email, WatcherProbe Probe, TesseraClient Client) : IAsyncDisposable
    {
        public void Deconstruct(out TcpChaosProxy proxy, out FakeTimeProvider clock, out MemoryTokenStore store, out string email, out WatcherProbe probe) =>
            (proxy, clock, store, email, probe) = (Proxy, Clock, Store, Email, Probe);

        public async ValueTask DisposeAsync()
        {
            await Probe.Watcher.DisposeAsync();
            Client.Dispose();
            await Proxy.DisposeAsync();
        }
    }
}
