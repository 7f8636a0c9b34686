using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tessera.Server.Revocations;
using Tessera.Server.Tests.Clients;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Revocations;

/// <summary>
/// The promise of docs/relying-apps.md over real HTTP, on a clock the tests move (the server's heartbeats, leases and
/// waits all read it): a revoking call returns once every app following the stream acknowledged the change, or once the
/// lease its heartbeats gave before the change has run out, and not before; with no app it is not slowed.
/// </summary>
public sealed class RevocationPromiseTests : IAsyncLifetime
{
    /// <summary>How long a test looks for a call to return when it must not: long enough for a wrong return to show.</summary>
    private static readonly TimeSpan StillPending = TimeSpan.FromMilliseconds(300);

    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(1);

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TesseraApp _app;

    public RevocationPromiseTests() => _app = new TesseraApp(clock: _clock, loopback: true);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task A_ban_does_not_return_until_the_app_acknowledges_it()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();
        await using var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);
        await LeasedAsync(stream);

        var streams = _app.Services.GetRequiredService<RevocationStreams>();
        var banning = admin.Post($"/v1/admin/users/{user.Id}/ban");
        await stream.NextRevokedForAsync(user.Id);

        // Half a lease on: a heartbeat written after the entry gives the app nothing it could still trust the old verdict under.
        _clock.Advance(Lease / 2);
        await stream.NextHeartbeatAsync(skipOthers: true);
        Assert.False(await ReturnsAsync(banning), "the ban returned before the app acknowledged it, within its lease");
        Assert.False(streams.IsConfirmed, "the node would tell the cluster its apps were confirmed before the app acknowledged");

        await stream.AcknowledgeAsync(clientId, secret);
        await (await banning.WaitAsync(RevocationStreamClient.Timeout, TestContext.Current.CancellationToken)).AssertOkJsonAsync();
        Assert.True(streams.IsConfirmed);
    }

    [Fact]
    public async Task A_ban_returns_once_the_lease_of_an_app_that_never_acknowledges_has_run_out()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();
        await using var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret);
        await LeasedAsync(stream);

        var banning = admin.Post($"/v1/admin/users/{user.Id}/ban");
        await stream.NextRevokedForAsync(user.Id);
        _clock.Advance(Lease / 2);
        await stream.NextHeartbeatAsync(skipOthers: true);
        Assert.False(await ReturnsAsync(banning), "the ban returned while the silent app could still trust its lease");

        // The lease of the heartbeat before the entry runs out; the heartbeats after it do not extend it.
        _clock.Advance(Lease / 2);
        await (await banning.WaitAsync(RevocationStreamClient.Timeout, TestContext.Current.CancellationToken)).AssertOkJsonAsync();
    }

    [Fact]
    public async Task An_app_that_disconnected_is_waited_for_while_it_may_still_trust_its_lease_and_may_still_acknowledge()
    {
        var (clientId, secret) = await OAuthRequests.CreateClientAsync(_app, "revocations");
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();
        string streamId;
        await using (var stream = await RevocationStreamClient.ConnectAndGreetAsync(_app, clientId, secret))
        {
            await LeasedAsync(stream);
            streamId = stream.StreamId!;
        }

        var streams = _app.Services.GetRequiredService<RevocationStreams>();
        await RevocationStreamTests.WaitUntilAsync(() => !streams.Open.Any(), "the server did not notice the stream end");

        var banning = admin.Post($"/v1/admin/users/{user.Id}/ban");
        Assert.False(await ReturnsAsync(banning), "the ban returned while the gone app could still trust its lease");

        using var http = _app.Anonymous();
        var head = _app.Services.GetRequiredService<RevocationLog>().Head;
        Assert.Equal(HttpStatusCode.NoContent, (await RevocationStreamClient.AcknowledgeAsync(http, clientId, secret, streamId, head)).StatusCode);
        Assert.False(await ReturnsAsync(banning), "an app cannot confirm an entry it was never sent");
        Assert.False(streams.IsConfirmed, "the node would tell the cluster its apps were confirmed while the gone app may trust its lease");

        _clock.Advance(Lease);
        await (await banning.WaitAsync(RevocationStreamClient.Timeout, TestContext.Current.CancellationToken)).AssertOkJsonAsync();
        Assert.True(streams.IsConfirmed);

        // Its lease over, the stream is forgotten.
        await (await RevocationStreamClient.AcknowledgeAsync(http, clientId, secret, streamId, head)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task With_no_app_connected_a_ban_is_not_slowed()
    {
        // A client that may follow the stream exists, but none did before this process started, and none follows now.
        await OAuthRequests.CreateClientAsync(_app, "revocations");
        var user = await _app.NewUserAsync();
        using var admin = await _app.AdminAsync();

        // The clock never moves: a wait for any lease would never end.
        await (await (admin.Post($"/v1/admin/users/{user.Id}/ban")).WaitAsync(RevocationStreamClient.Timeout, TestContext.Current.CancellationToken)).AssertOkJsonAsync();
        Assert.True(_app.Services.GetRequiredService<RevocationStreams>().IsConfirmed);
    }

    [Fact]
    public async Task After_a_restart_a_ban_waits_out_one_lease_for_apps_of_the_previous_run_then_is_not_slowed()
    {
        await OAuthRequests.CreateClientAsync(_app, "revocations");
        await _app.StopAsync();

        var clock = new FakeTimeProvider(_clock.GetUtcNow());
        await using var restarted = new TesseraApp(clock: clock, dataDirectory: _app.DataDirectory, loopback: true);
        var first = await restarted.NewUserAsync();
        var second = await restarted.NewUserAsync();
        using var admin = await restarted.AdminAsync();

        var banning = admin.Post($"/v1/admin/users/{first.Id}/ban");
        Assert.False(await ReturnsAsync(banning), "the ban returned while an app of the previous run could still trust a lease");
        Assert.False(restarted.Services.GetRequiredService<RevocationStreams>().IsConfirmed, "confirmed within the previous run's lease");
        clock.Advance(Lease);
        await (await banning.WaitAsync(RevocationStreamClient.Timeout, TestContext.Current.CancellationToken)).AssertOkJsonAsync();

        await (await admin.Post($"/v1/admin/users/{second.Id}/ban").WaitAsync(RevocationStreamClient.Timeout, TestContext.Current.CancellationToken)).AssertOkJsonAsync();
    }

    /// <summary>
    /// Until the app holds a lease: heartbeats come as the clock moves, and the first may grant none while the node's change
    /// watcher catches up with the commits just made.
    /// </summary>
    private async Task LeasedAsync(RevocationStreamClient stream)
    {
        while ((await stream.NextHeartbeatAsync(skipOthers: true)).GetProperty("lease").GetInt64() == 0)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(250));
        }
    }

    /// <summary>Whether <paramref name="call"/> returns within <see cref="StillPending"/>; for calls that must not.</summary>
    private static async Task<bool> ReturnsAsync(Task call) =>
        await Task.WhenAny(call, Task.Delay(StillPending, TestContext.Current.CancellationToken)) == call;
}
