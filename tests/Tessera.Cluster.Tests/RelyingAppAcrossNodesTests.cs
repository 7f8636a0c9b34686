using Tessera.Testing;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using Tessera.Cluster.Tests.Infrastructure;
using Xunit;

namespace Tessera.Cluster.Tests;

/// <summary>
/// The promise across apps and nodes (docs/relying-apps.md): the sample Portal, a real process, follows node A's
/// revocation stream through a proxy; sessions end on nodes B and C, or straight in PostgreSQL, and under faults of the
/// Portal's stream, of node A and of the Portal itself. After each, the Portal never accepts a session that was ended
/// before, and once healed it serves from its cache again (counted at the proxy: requests that made no introspection).
/// Every fault test heals what it broke, so the class shares one cluster and one Portal.
/// </summary>
public sealed class RelyingAppAcrossNodesTests(PortalOnCluster fixture) : IClassFixture<PortalOnCluster>, IAsyncDisposable
{
    /// <summary>Tessera:Clients:RevocationLease, left at its default by the cluster.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Slack on top of a bound of the contract for a loaded two-core machine: a call that waits for a frozen or cut-off
    /// app must return within about one lease, not hang on it; this catches the hang, not a slow millisecond.
    /// </summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(5);

    private readonly Findings _findings = new();

    private TesseraCluster Cluster => fixture.Cluster;

    private RelyingAppProxy Proxy => fixture.Proxy;

    private SamplePortalProcess Portal => fixture.Portal;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task A_ban_on_node_B_and_a_sign_out_of_all_devices_on_node_C_are_refused_by_the_Portal_when_they_return_and_close_its_feed_with_the_reason()
    {
        // The ban, made by an admin on B.
        var (banned, bannedBrowser) = await SignedInAsync("portal-banned");
        using (bannedBrowser)
        {
            using var feed = await bannedBrowser.OpenFeedAsync();
            await ServesFromCacheAsync(bannedBrowser, "before the ban");
            var ban = await Cluster.B.PostAsync($"/v1/admin/users/{banned.Id}/ban", new { reason = "portal test" }, Cluster.Admin.Token);
            var next = await bannedBrowser.MeAsync();
            _findings.Check(ban.Status == 200, $"the ban on B answered {ban}");
            _findings.Check(next is { Status: 401, Code: "session_revoked", Reason: "user_banned" },
                $"the Portal's next request after the ban on B returned: {next} (wanted 401 session_revoked, user_banned)");
            var closed = await PortalBrowser.ReceiveCloseAsync(feed, TimeSpan.FromSeconds(10));
            _findings.Check(closed == (4001, "user_banned"), $"the Portal's feed after the ban closed with {Describe(closed)} (wanted 4001 user_banned)");
        }

        // "Sign out all devices", pressed by the user on another device signed in on C.
        var (user, browser) = await SignedInAsync("portal-signed-out");
        using (browser)
        {
            using var feed = await browser.OpenFeedAsync();
            await ServesFromCacheAsync(browser, "before the sign-out of all devices");
            var phone = await Cluster.LoginAsync(Cluster.C, user);
            var signOut = await Cluster.C.PostAsync("/v1/sessions/revoke-all", null, phone.Token);
            var next = await browser.MeAsync();
            _findings.Check(signOut.Status == 200, $"revoke-all on C answered {signOut}");
            _findings.Check(next is { Status: 401, Code: "session_revoked", Reason: "signed_out_all_devices" },
                $"the Portal's next request after revoke-all on C returned: {next} (wanted 401 session_revoked, signed_out_all_devices)");
            var closed = await PortalBrowser.ReceiveCloseAsync(feed, TimeSpan.FromSeconds(10));
            _findings.Check(closed == (4001, "signed_out_all_devices"),
                $"the Portal's feed after revoke-all closed with {Describe(closed)} (wanted 4001 signed_out_all_devices)");
        }

        _findings.AssertAll();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_user_deactivated_straight_in_PostgreSQL_is_refused_by_the_Portal_and_its_feed_closes()
    {
        var (user, browser) = await SignedInAsync("portal-sql");
        using (browser)
        {
            using var feed = await browser.OpenFeedAsync();
            await ServesFromCacheAsync(browser, "before the UPDATE");
            Assert.Equal(1, await Cluster.Database.ExecuteAsync("UPDATE users SET status = 'deactivated' WHERE id = @id", ("id", user.Id)));

            // No call returns here: the Portal must refuse within a deadline (NOTIFY to a node, the node's stream, the app).
            var committed = Stopwatch.GetTimestamp();
            var deadline = TimeSpan.FromSeconds(10);
            ApiResponse answer;
            do
            {
                answer = await browser.MeAsync();
            }
            while (answer.Status == 200 && Stopwatch.GetElapsedTime(committed) < deadline);

            var took = Ms.Since(committed);
            _findings.Check(answer.Status == 401, $"the Portal answered {answer} {took:F0} ms after the UPDATE committed (wanted 401 within {deadline.TotalSeconds} s)");
            var closed = await PortalBrowser.ReceiveCloseAsync(feed, TimeSpan.FromSeconds(10));
            _findings.Check(closed?.Status == 4001, $"the Portal's feed after the UPDATE closed with {Describe(closed)} (wanted 4001)");
            _findings.Measure(string.Create(CultureInfo.InvariantCulture,
                $"UPDATE users SET status = 'deactivated' to the Portal's refusal: {took:F1} ms ({answer.Code}, {answer.Reason}); the feed closed with {Describe(closed)}"));
        }

        _findings.AssertAll();
    }

    [Fact(Timeout = 120_000)]
    public async Task With_its_stream_cut_the_Portal_refuses_a_session_revoked_on_node_B_and_serves_from_its_cache_once_healed()
    {
        var (victim, victimBrowser) = await SignedInAsync("portal-cut");
        var (_, keeper) = await SignedInAsync("portal-cut-keeper");
        using (victimBrowser)
        using (keeper)
        {
            await ServesFromCacheAsync(victimBrowser, "before the cut");
            var streams = Proxy.StreamRequests;
            try
            {
                Proxy.CutStreams();
                var (revoke, took) = await TimedAsync(() => Cluster.B.DeleteAsync($"/v1/admin/users/{victim.Id}/sessions", Cluster.Admin.Token));
                var next = await victimBrowser.MeAsync();
                _findings.Check(revoke.Status == 200, $"ending the sessions on B with the Portal's stream cut answered {revoke}");
                _findings.Check(next.Status == 401, $"the Portal's next request after the revoke on B returned, stream cut: {next}");
                var kept = await keeper.MeAsync();
                _findings.Check(kept.Status == 200, $"a live session on the Portal with its stream cut (asked of Tessera): {kept}");
                // It reconnects after a backoff with jitter: wait for the attempt rather than expect it already made.
                _findings.Check(await EventuallyAsync(() => Proxy.StreamRequests > streams, TimeSpan.FromSeconds(15)),
                    "the Portal did not try to reconnect its stream within 15 s while it was cut");
                _findings.Measure(string.Create(CultureInfo.InvariantCulture, $"stream cut: the revoke on B took {took:F1} ms; the Portal answered {next.Status} {next.Code} {next.Reason}"));
            }
            finally
            {
                Proxy.Heal();
            }

            await ServesFromCacheAsync(keeper, "after the cut was healed");
            var after = await victimBrowser.MeAsync();
            _findings.Check(after.Status == 401, $"the revoked session on the Portal after the cut was healed: {after}");
        }

        _findings.AssertAll();
    }

    [Fact(Timeout = 120_000)]
    public async Task With_its_stream_stalled_a_revoke_on_node_B_returns_within_the_lease_and_the_Portal_refuses_it_then_serves_from_its_cache_once_healed()
    {
        var (victim, victimBrowser) = await SignedInAsync("portal-stall");
        var (_, keeper) = await SignedInAsync("portal-stall-keeper");
        using (victimBrowser)
        using (keeper)
        {
            await ServesFromCacheAsync(victimBrowser, "before the stall");
            try
            {
                // At once after the stall: the Portal still holds the lease of its last heartbeat, and the event is held.
                Proxy.StallStreams();
                var (revoke, took) = await TimedAsync(() => Cluster.B.DeleteAsync($"/v1/admin/users/{victim.Id}/sessions", Cluster.Admin.Token));
                var next = await victimBrowser.MeAsync();
                _findings.Check(revoke.Status == 200, $"ending the sessions on B with the Portal's stream stalled answered {revoke}");
                _findings.Check(took <= (Lease + Slack).TotalMilliseconds,
                    $"the revoke on B with the Portal's stream stalled took {took:F0} ms (bound: the lease, {Lease.TotalMilliseconds} ms, + {Slack.TotalMilliseconds} ms)");
                _findings.Check(next.Status == 401, $"the Portal's next request after the revoke on B returned, stream stalled: {next}");
                var kept = await keeper.MeAsync();
                _findings.Check(kept.Status == 200, $"a live session on the Portal with its stream stalled (asked of Tessera): {kept}");
                _findings.Measure(string.Create(CultureInfo.InvariantCulture, $"stream stalled: the revoke on B took {took:F1} ms; the Portal answered {next.Status} {next.Code} {next.Reason}"));
            }
            finally
            {
                Proxy.Heal();
            }

            await ServesFromCacheAsync(keeper, "after the stall was healed");
            var after = await victimBrowser.MeAsync();
            _findings.Check(after.Status == 401, $"the revoked session on the Portal after the stall was healed: {after}");
        }

        _findings.AssertAll();
    }

    [Fact(Timeout = 240_000)]
    public async Task With_node_A_killed_and_restarted_the_Portal_refuses_sessions_revoked_on_other_nodes_during_and_after()
    {
        var (during, duringBrowser) = await SignedInAsync("portal-kill-during");
        var (afterwards, afterBrowser) = await SignedInAsync("portal-kill-after");
        var (_, keeper) = await SignedInAsync("portal-kill-keeper");
        using (duringBrowser)
        using (afterBrowser)
        using (keeper)
        {
            await ServesFromCacheAsync(duringBrowser, "before node A was killed");
            try
            {
                await Cluster.A.KillAsync();
                var (revoke, took) = await TimedAsync(() => Cluster.B.DeleteAsync($"/v1/admin/users/{during.Id}/sessions", Cluster.Admin.Token));
                var next = await duringBrowser.MeAsync();
                _findings.Check(revoke.Status == 200, $"ending the sessions on B with node A dead answered {revoke}");
                _findings.Check(next.Status is not (200 or 0),
                    $"the Portal's next request after the revoke on B returned, its node dead: {next} (wanted a refusal: 503 authority_unavailable or 401)");
                _findings.Measure(string.Create(CultureInfo.InvariantCulture, $"node A dead: the revoke on B took {took:F1} ms; the Portal answered {next.Status} {next.Code}"));
            }
            finally
            {
                if (!Cluster.A.IsRunning)
                {
                    Cluster.A.Start();
                }

                await Cluster.A.WaitUntilHealthyAsync(TesseraCluster.StartTimeout);
            }

            var duringAfterRestart = await duringBrowser.MeAsync();
            _findings.Check(duringAfterRestart.Status == 401, $"the session revoked while A was dead, on the Portal after A restarted: {duringAfterRestart}");
            await ServesFromCacheAsync(afterBrowser, "after node A restarted");

            var revokeAfter = await Cluster.C.DeleteAsync($"/v1/admin/users/{afterwards.Id}/sessions", Cluster.Admin.Token);
            var nextAfter = await afterBrowser.MeAsync();
            _findings.Check(revokeAfter.Status == 200, $"ending the sessions on C after A restarted answered {revokeAfter}");
            _findings.Check(nextAfter is { Status: 401, Code: "session_revoked", Reason: "revoked_by_admin" },
                $"the Portal's next request after the revoke on C returned, A restarted: {nextAfter} (wanted 401 session_revoked, revoked_by_admin)");
            await ServesFromCacheAsync(keeper, "after node A restarted, a live session");
        }

        _findings.AssertAll();
    }

    [Fact(Timeout = 120_000)]
    public async Task The_Portal_frozen_with_SIGSTOP_does_not_hold_up_a_revoke_on_node_B_beyond_its_lease_and_refuses_the_session_first_thing_after_SIGCONT()
    {
        var (victim, victimBrowser) = await SignedInAsync("portal-frozen");
        var (_, keeper) = await SignedInAsync("portal-frozen-keeper");
        using (victimBrowser)
        using (keeper)
        {
            await ServesFromCacheAsync(victimBrowser, "before the Portal was frozen");
            ApiResponse revoke;
            double took;
            ApiResponse next;
            try
            {
                await Portal.FreezeAsync();

                // The event is held at the proxy too, so that the Portal cannot learn of it from its stream before the
                // request below: only its clock, which went on counting while it was stopped, can refuse the session.
                Proxy.StallStreams();
                (revoke, took) = await TimedAsync(() => Cluster.B.DeleteAsync($"/v1/admin/users/{victim.Id}/sessions", Cluster.Admin.Token));
                await Portal.ThawAsync();
                next = await victimBrowser.MeAsync();
            }
            finally
            {
                await Portal.ThawAsync();
                Proxy.Heal();
            }

            _findings.Check(revoke.Status == 200, $"ending the sessions on B with the Portal frozen answered {revoke}");
            _findings.Check(took <= (Lease + Slack).TotalMilliseconds,
                $"the revoke on B with the Portal frozen took {took:F0} ms (bound: the lease, {Lease.TotalMilliseconds} ms, + {Slack.TotalMilliseconds} ms)");
            _findings.Check(next.Status == 401, $"the Portal's first request with the revoked session after SIGCONT: {next}");
            _findings.Measure(string.Create(CultureInfo.InvariantCulture, $"Portal frozen: the revoke on B took {took:F1} ms; after SIGCONT the Portal answered {next.Status} {next.Code} {next.Reason}"));
            await ServesFromCacheAsync(keeper, "after the Portal was resumed");
            var after = await victimBrowser.MeAsync();
            _findings.Check(after.Status == 401, $"the revoked session on the Portal once it serves from its cache again: {after}");
        }

        _findings.AssertAll();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_service_client_disabled_on_node_B_is_refused_at_once_by_introspection_on_node_C()
    {
        var (id, secret) = await PortalOnCluster.CreateClientAsync(Cluster, "Billing", "introspect");
        var user = await Cluster.CreateUserAsync(Cluster.A, "introspected");
        var session = await Cluster.LoginAsync(Cluster.A, user);

        // Twice on C: the second is answered from C's copy of the client.
        for (var i = 0; i < 2; i++)
        {
            var before = await IntrospectAsync(Cluster.C, id, secret, session.Token);
            Assert.True(before.Status == 200 && before.Json.GetProperty("active").GetBoolean(), $"introspection on C before the disable: {before}");
        }

        var disable = await Cluster.B.PostAsync($"/v1/admin/clients/{id}/disable", null, Cluster.Admin.Token);
        var after = await IntrospectAsync(Cluster.C, id, secret, session.Token);
        _findings.Check(disable.Status == 200, $"disabling the client on B answered {disable}");
        _findings.Check(after.Status == 401 && after.Member("error") == "invalid_client",
            $"introspection on C right after the client was disabled on B: {after} (wanted 401 invalid_client)");
        _findings.AssertAll();
    }

    [Fact(Timeout = 60_000)]
    public async Task The_hello_of_a_node_in_a_cluster_says_settle_is_the_bus_acknowledgement_timeout()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Cluster.B.BaseUrl), Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/revocations");
        request.Headers.Authorization = PortalOnCluster.Basic(fixture.ClientId, fixture.ClientSecret);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        cancel.CancelAfter(TimeSpan.FromSeconds(20));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(200, (int)response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        string? data = null;
        var inHello = false;
        while (data is null && await reader.ReadLineAsync(cancel.Token) is { } line)
        {
            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                inHello = line["event:".Length..].Trim() == "hello";
            }
            else if (inHello && line.StartsWith("data:", StringComparison.Ordinal))
            {
                data = line["data:".Length..].Trim();
            }
        }

        Assert.NotNull(data);
        using var hello = JsonDocument.Parse(data);
        Assert.Equal((long)TesseraCluster.AckTimeout.TotalMilliseconds, hello.RootElement.GetProperty("settle").GetInt64());
        Assert.Equal((long)Lease.TotalMilliseconds, hello.RootElement.GetProperty("lease").GetInt64());
    }

    public ValueTask DisposeAsync()
    {
        if (TestContext.Current.TestState?.Result is TestResult.Failed)
        {
            Cluster.KeepFiles();
            var diagnostics = Cluster.Diagnostics() +
                $"\n---- the Portal (pid {Portal.ProcessId}; stream requests {Proxy.StreamRequests}, introspections {Proxy.Introspections}):\n" +
                string.Join('\n', Portal.Output.Split('\n').TakeLast(120));
            TestContext.Current.TestOutputHelper?.WriteLine(diagnostics);
            throw new ClusterLogsException(diagnostics);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>A new user (signed up on A) signed in through the Portal's form, in a browser of their own.</summary>
    private async Task<(ClusterUser User, PortalBrowser Browser)> SignedInAsync(string label)
    {
        var user = await Cluster.CreateUserAsync(Cluster.A, label);
        var browser = new PortalBrowser(Portal);
        await browser.SignInAsync(user.Email, user.Password);
        var me = await browser.MeAsync();
        Assert.True(me.Status == 200 && me.Json.GetProperty("userId").GetString() == user.Id, $"the Portal after {user.Email} signed in: {me}");
        return (user, browser);
    }

    /// <summary>
    /// Waits until the Portal answers this visitor from its cache: three accepted requests in a row with no introspection
    /// among them, which the package does only while it holds a lease from the stream. Before a fault it shows that the
    /// refusal after it was not just an introspection of a Portal that never cached; after, that the Portal healed.
    /// </summary>
    private async Task ServesFromCacheAsync(PortalBrowser browser, string when)
    {
        var deadline = TimeSpan.FromSeconds(20);
        var waited = Stopwatch.StartNew();
        ApiResponse last;
        do
        {
            var introspections = Proxy.Introspections;
            last = await browser.MeAsync();
            if (last.Status == 200 && (await browser.MeAsync()).Status == 200 && (await browser.MeAsync()).Status == 200 && Proxy.Introspections == introspections)
            {
                return;
            }

            await Task.Delay(50, Cancellation);
        }
        while (waited.Elapsed < deadline);

        _findings.Check(false, $"{when}: the Portal did not answer from its cache within {deadline.TotalSeconds} s (last answer {last}; introspections {Proxy.Introspections})");
    }

    /// <summary>True once <paramref name="condition"/> holds, false if it still does not after <paramref name="timeout"/>.</summary>
    private static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() >= deadline)
            {
                return false;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        return true;
    }

    private static async Task<(ApiResponse Response, double Milliseconds)> TimedAsync(Func<Task<ApiResponse>> call)
    {
        var started = Stopwatch.GetTimestamp();
        var response = await call();
        return (response, Ms.Since(started));
    }

    private static async Task<ApiResponse> IntrospectAsync(TesseraNode node, string clientId, string secret, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("token", token)]),
        };
        request.Headers.Authorization = PortalOnCluster.Basic(clientId, secret);
        using var response = await node.Http.SendAsync(request, Cancellation);
        return new ApiResponse((int)response.StatusCode, await response.Content.ReadAsStringAsync(Cancellation));
    }

    private static string Describe((int Status, string? Description)? closed) => closed is { } c ? $"{c.Status} {c.Description}" : "no close frame within 10 s";
}
