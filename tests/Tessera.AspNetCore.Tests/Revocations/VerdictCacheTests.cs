using System.Net;
using Tessera.AspNetCore.Tests.Authentication;
using Tessera.AspNetCore.Tests.Infrastructure;
using Tessera.Testing;

namespace Tessera.AspNetCore.Tests.Revocations;

/// <summary>
/// Verdicts are served from the app's memory only while the lease from the stream holds: counted by the calls the app
/// makes to <c>/oauth2/introspect</c>.
/// </summary>
public sealed class VerdictCacheTests(RealTessera tessera) : IClassFixture<RealTessera>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task While_the_lease_holds_a_cached_verdict_is_served_without_asking_Tessera()
    {
        await using var app = await RelyingApp.StartAsync(tessera.Authority, tessera.ClientId, tessera.ClientSecret);
        await app.LeaseAsync();
        var (email, _) = await tessera.NewUserAsync();
        using var client = app.Client(await tessera.LoginAsync(email));

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        var afterFirst = app.Calls.Introspections;
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        }

        Assert.Equal(1, afterFirst);
        Assert.Equal(afterFirst, app.Calls.Introspections);
    }

    [Fact]
    public async Task Without_the_stream_every_request_asks_Tessera_and_still_works()
    {
        await using var app = await RelyingApp.StartAsync(tessera.Authority, tessera.ClientId, tessera.ClientSecret, options => options.FollowRevocations = false);
        var (email, userId) = await tessera.NewUserAsync();
        using var client = app.Client(await tessera.LoginAsync(email));

        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
            Assert.Equal(i, app.Calls.Introspections);
        }

        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban");
        await AuthenticationTests.AssertProblemAsync(await client.GetAsync("/api/me", Cancellation), HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal(0, app.Calls["/v1/revocations"]);
    }

    [Fact]
    public async Task A_stalled_stream_stops_the_cache_and_requests_read_through_until_it_is_back()
    {
        await using var proxy = new TcpChaosProxy(new Uri(tessera.Server.BaseUrl).Port);
        await using var app = await RelyingApp.StartAsync(tessera.Authority, tessera.ClientId, tessera.ClientSecret,
            options => options.BackchannelTimeout = TimeSpan.FromSeconds(2), streamThroughPort: proxy.Port);
        await app.LeaseAsync();
        var (email, userId) = await tessera.NewUserAsync();
        using var client = app.Client(await tessera.LoginAsync(email));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        var connections = app.Calls["/v1/revocations"];

        proxy.Blackhole();
        await Eventually.TrueAsync(() => !app.Authority.Cache.LeaseHolds, "the lease runs out once heartbeats stop");

        var before = app.Calls.Introspections;
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        Assert.Equal(before + 2, app.Calls.Introspections);
        // A revocation the app cannot hear of now holds on its next request all the same.
        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/deactivate");
        await AuthenticationTests.AssertProblemAsync(await client.GetAsync("/api/me", Cancellation), HttpStatusCode.Unauthorized, "unauthenticated");

        // The stall was noticed (three heartbeats of nothing) and the app connects again, resuming with Last-Event-ID.
        await Eventually.TrueAsync(() => app.Calls["/v1/revocations"] > connections, "the app reconnects after the stall");
        proxy.Heal();
        await app.LeaseAsync();
        Assert.NotNull(app.Calls.LastEventIdSent);
    }

    [Fact]
    public async Task A_verdict_fetched_while_its_revocation_arrived_is_fetched_again_and_not_used()
    {
        await using var app = await RelyingApp.StartAsync(tessera.Authority, tessera.ClientId, tessera.ClientSecret);
        await app.LeaseAsync();
        var (email, userId) = await tessera.NewUserAsync();
        using var client = app.Client(await tessera.LoginAsync(email));

        // Tessera answers "active"; the answer is held back while the user is banned and the app hears of it.
        app.Calls.HoldIntrospections = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = client.GetAsync("/api/me", Cancellation);
        await app.Calls.IntrospectionHeld.Task.WaitAsync(TimeSpan.FromSeconds(10), Cancellation);
        var hold = app.Calls.HoldIntrospections;
        app.Calls.HoldIntrospections = null;
        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban");
        hold.SetResult();

        var problem = await AuthenticationTests.AssertProblemAsync(await request, HttpStatusCode.Unauthorized, "session_revoked");
        Assert.Equal("user_banned", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_reset_drops_every_cached_verdict()
    {
        await using var app = await RelyingApp.StartAsync(tessera.Authority, tessera.ClientId, tessera.ClientSecret);
        await app.LeaseAsync();
        var (email, _) = await tessera.NewUserAsync();
        using var client = app.Client(await tessera.LoginAsync(email));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        Assert.Equal(1, app.Calls.Introspections);

        app.Authority.ApplyReset();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);
        Assert.Equal(2, app.Calls.Introspections);
    }

    [Fact]
    public async Task A_client_disabled_at_Tessera_stops_the_cache_at_once_and_nothing_is_accepted_after()
    {
        var (id, secret) = await tessera.CreateClientAsync("Soon disabled", "introspect", "revocations");
        await using var app = await RelyingApp.StartAsync(tessera.Authority, id, secret);
        await app.LeaseAsync();
        var (email, _) = await tessera.NewUserAsync();
        using var client = app.Client(await tessera.LoginAsync(email));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me", Cancellation)).StatusCode);

        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/clients/{id}/disable");

        // The stream says `closed`: the lease ends with it, and the cached verdict is not served any more.
        await Eventually.TrueAsync(() => !app.Authority.Cache.LeaseHolds, "the stream is closed and the lease with it");
        await AuthenticationTests.AssertProblemAsync(await client.GetAsync("/api/me", Cancellation), HttpStatusCode.ServiceUnavailable, "authority_unavailable");
    }
}
