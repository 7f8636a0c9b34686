using System.Diagnostics;
using Tessera.Core.Invalidations;
using Tessera.Core.Options;
using Tessera.Core.Sessions;
using Tessera.Redis.Invalidations;
using Tessera.Testing;
using Xunit;

namespace Tessera.Redis.Tests;

/// <summary>
/// The promise across relying apps in a cluster: an app's acknowledgement reaches the node that holds its stream
/// whichever node it was sent to, and a revoking call's confirmation round waits for every live node's apps (after
/// that node applied what the caller published), at most one lease.
/// </summary>
public sealed class RelyingAppsTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(15);
    private static readonly RedisClusterOptions Defaults = new();

    /// <summary>What a node may take to notice, on a loaded two-core machine, beyond what the options promise.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(750);

    /// <summary>A longer lease where a test holds a round open on purpose, so that the round's deadline is far away.</summary>
    private static readonly TimeSpan LongLease = TimeSpan.FromSeconds(2.5);

    private static void WithLongLease(TesseraOptions options) => options.Clients.RevocationLease = LongLease;

    private static void RoomForLongLease(RedisClusterOptions options) => options.LiveWindow = TimeSpan.FromSeconds(5);

    private static Task<ClusterNode> StartAsync(string name, string prefix, TestRelyingApps apps, bool longLease = false, string? configuration = null) =>
        ClusterNode.StartAsync(
            name, configuration ?? TestRedis.Configuration, prefix,
            longLease ? RoomForLongLease : null,
            longLease ? WithLongLease : null,
            apps);

    private static RedisInvalidationBus BusOf(ClusterNode node) => (RedisInvalidationBus)node.Bus;

    [Fact]
    public async Task An_acknowledgement_for_a_stream_of_B_sent_to_A_reaches_Bs_apps()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps());
        await using var b = await StartAsync("B", prefix, new TestRelyingApps());
        await Eventually.AllTrustedAsync([a, b], Settle);
        var onB = b.Apps!.OpenStream(b.NodeId);
        var onA = a.Apps!.OpenStream(a.NodeId);

        Assert.True(await a.Bus.AcknowledgeAsync(onB, TestRelyingApps.Client, 42, CancellationToken.None));
        await Eventually.TrueAsync(() => b.Apps.Acknowledgements.Contains((onB, 42)), TimeSpan.FromSeconds(5), "B's apps get the acknowledgement sent to A");
        Assert.Empty(a.Apps.Acknowledgements);
        Assert.Equal(1, a.State.AppAcksRelayed);

        // Sent to the node that holds the stream, it goes straight to its apps, whose answer is the call's.
        Assert.True(await a.Bus.AcknowledgeAsync(onA, TestRelyingApps.Client, 7, CancellationToken.None));
        Assert.False(await a.Bus.AcknowledgeAsync($"{a.NodeId}~gone", TestRelyingApps.Client, 7, CancellationToken.None));
        Assert.Equal([(onA, 7L), ($"{a.NodeId}~gone", 7L)], a.Apps.Acknowledgements);
        Assert.Equal(1, a.State.AppAcksRelayed);
    }

    [Fact]
    public async Task An_acknowledgement_relayed_to_the_node_of_the_stream_counts_only_from_the_client_that_opened_it()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps());
        await using var b = await StartAsync("B", prefix, new TestRelyingApps());
        await Eventually.AllTrustedAsync([a, b], Settle);
        var onB = b.Apps!.OpenStream(b.NodeId, "cli_portal");

        // Relayed like any other (A cannot know B's streams), and refused by B's apps: another client's stream id is no
        // capability to confirm for it.
        Assert.True(await a.Bus.AcknowledgeAsync(onB, "cli_other", 5, CancellationToken.None));
        await Eventually.TrueAsync(() => b.Apps.Refused.Contains((onB, "cli_other", 5)), TimeSpan.FromSeconds(5), "B's apps see the other client's acknowledgement");
        Assert.Empty(b.Apps.Acknowledgements);

        Assert.True(await a.Bus.AcknowledgeAsync(onB, "cli_portal", 6, CancellationToken.None));
        await Eventually.TrueAsync(() => b.Apps.Acknowledgements.Contains((onB, 6)), TimeSpan.FromSeconds(5), "B's apps get the opener's acknowledgement");
    }

    [Theory]
    [InlineData("")]
    [InlineData("no-node-in-this-id")]
    [InlineData("~starts-with-the-separator")]
    [InlineData("nobody-of-this-cluster~abc")]
    [InlineData("a{b}~abc")]
    public async Task An_acknowledgement_whose_stream_names_no_live_node_is_refused(string streamId)
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps());
        await Eventually.AllTrustedAsync([a], Settle);

        Assert.False(await a.Bus.AcknowledgeAsync(streamId, TestRelyingApps.Client, 1, CancellationToken.None));
        Assert.Empty(a.Apps!.Acknowledgements);
        Assert.Equal(0, a.State.AppAcksRelayed);
    }

    [Fact]
    public async Task An_acknowledgement_for_a_node_that_left_is_refused()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps());
        var b = await StartAsync("B", prefix, new TestRelyingApps());
        await Eventually.AllTrustedAsync([a, b], Settle);
        var onB = b.Apps!.OpenStream(b.NodeId);
        Assert.True(await a.Bus.AcknowledgeAsync(onB, TestRelyingApps.Client, 1, CancellationToken.None));

        await b.DisposeAsync();

        Assert.False(await a.Bus.AcknowledgeAsync(onB, TestRelyingApps.Client, 2, CancellationToken.None));
    }

    [Fact]
    public async Task The_round_waits_for_the_apps_of_every_live_node_then_returns()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps { ConfirmAtOnce = false }, longLease: true);
        await using var b = await StartAsync("B", prefix, new TestRelyingApps { ConfirmAtOnce = false }, longLease: true);
        await using var c = await StartAsync("C", prefix, new TestRelyingApps(), longLease: true);
        await Eventually.AllTrustedAsync([a, b, c], Settle);

        var (userId, _) = await a.PublishAsync();
        var round = a.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None);

        await Eventually.TrueAsync(() => b.Apps!.Waiting == 1 && a.Apps!.Waiting == 1 && c.Apps!.Asked.Count == 1, Settle, "every node's apps are asked");
        Assert.True(b.Apps!.Asked[0].Contains(userId), "B's apps were asked before B handed them the invalidation");
        Assert.False(round.IsCompleted, "the round returned before B's and A's apps confirmed");

        a.Apps!.ConfirmAll();
        await Eventually.TrueAsync(() => b.Apps.Asked.Count == 1 && a.Apps.Waiting == 0, Settle, "A's apps confirmed");
        Assert.False(round.IsCompleted, "the round returned before B's apps confirmed");

        b.Apps.ConfirmAll();
        await round.WaitAsync(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(1, a.State.RelyingAppRounds);
        Assert.Equal(2, a.State.RoundAnswersAwaited);
        Assert.Equal(0, a.State.RoundSilentNodes);
    }

    [Fact]
    public async Task When_every_node_said_in_its_acknowledgement_that_its_apps_were_confirmed_no_round_is_sent()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps());
        await using var b = await StartAsync("B", prefix, new TestRelyingApps());
        await using var c = await StartAsync("C", prefix, new TestRelyingApps());
        await Eventually.AllTrustedAsync([a, b, c], Settle);

        var receipt = await PublishUntilConfirmedOnAsync(a, b, c);
        await a.Bus.WhenRelyingAppsConfirmedAsync([receipt], CancellationToken.None).WaitAsync(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(1, a.State.RelyingAppRounds);
        Assert.Equal(0, a.State.RoundAnswersAwaited);

        // Nothing went out: a round that asks everyone is the only one B and C ever answer (rounds come in order on one
        // channel, and each node asks its apps before it answers).
        await a.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None).WaitAsync(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(2, a.State.RoundAnswersAwaited);
        Assert.Single(b.Apps!.Asked);
        Assert.Single(c.Apps!.Asked);
    }

    [Fact]
    public async Task A_node_whose_apps_may_hold_a_lease_is_waited_for_and_a_node_that_said_its_apps_were_confirmed_is_not()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps(), longLease: true);
        await using var b = await StartAsync("B", prefix, new TestRelyingApps(), longLease: true);
        await using var c = await StartAsync("C", prefix, new TestRelyingApps { ConfirmAtOnce = false }, longLease: true);
        await Eventually.AllTrustedAsync([a, b, c], Settle);

        var receipt = await PublishUntilConfirmedOnAsync(a, b);
        Assert.DoesNotContain(c.NodeId, receipt.AppsConfirmedOn);

        // The round goes to every node, but A waits for C's answer only: B said its apps were confirmed, and now holds
        // its answer back.
        b.Apps!.ConfirmAtOnce = false;
        var round = a.Bus.WhenRelyingAppsConfirmedAsync([receipt], CancellationToken.None);
        await Eventually.TrueAsync(() => c.Apps!.Waiting == 1 && b.Apps.Waiting == 1, Settle, "B and C received the round");
        Assert.False(round.IsCompleted, "the round returned before C's apps confirmed");
        c.Apps!.ConfirmAll();
        await round.WaitAsync(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(1, b.Apps.Waiting);
        Assert.Equal(1, a.State.RoundAnswersAwaited);
        b.Apps.ConfirmAll();

        // A receipt counts for a node only if every publish of the call had it say so.
        Assert.Empty(PublishReceipt.ConfirmedOnAll([receipt, PublishReceipt.None]));
        Assert.True(receipt.AppsConfirmedOn.SetEquals(PublishReceipt.ConfirmedOnAll([receipt, receipt])));
        Assert.Empty(PublishReceipt.ConfirmedOnAll([]));
    }

    [Fact]
    public async Task A_node_answers_only_once_it_applied_what_the_asker_published_before_asking()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps(), longLease: true);
        await using var b = await StartAsync("B", prefix, new TestRelyingApps(), longLease: true);
        await Eventually.AllTrustedAsync([a, b], Settle);

        // B is slow to apply an invalidation numbered before the round: its bus queue is stuck in the handler, while
        // the round comes on another channel and is read at once.
        b.Apps!.HoldHandling();
        var publish = a.PublishAsync();
        await Eventually.TrueAsync(() => b.Apps.Held == 1, Settle, "B is applying the invalidation");
        var round = a.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None);
        await Eventually.TrueAsync(() => BusOf(b).PendingAnswers == 1, Settle, "B received the round");

        Assert.Empty(b.Apps.Asked);
        Assert.False(round.IsCompleted, "the round returned before B applied the invalidation published before it");

        b.Apps.ReleaseHandling();
        var (userId, _) = await publish;
        await round.WaitAsync(Settle, TestContext.Current.CancellationToken);
        var asked = Assert.Single(b.Apps.Asked);
        Assert.Contains(userId, asked);
        Assert.Equal(0, a.State.RoundSilentNodes);
    }

    [Fact]
    public async Task A_node_cut_off_before_the_publish_is_waited_for_until_its_fence_and_one_lease_at_most()
    {
        var prefix = TestRedis.NewPrefix();
        var port = int.Parse(TestRedis.Configuration.Split(',')[0].Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        await using var proxy = new TcpChaosProxy(port);
        await using var a = await StartAsync("A", prefix, new TestRelyingApps());
        await using var b = await StartAsync("B", prefix, new TestRelyingApps());
        await using var c = await StartAsync("C", prefix, new TestRelyingApps(), configuration: proxy.Configuration);
        await Eventually.AllTrustedAsync([a, b, c], Settle);

        // What a revoking call does: publish, then the round. C hears neither, and no socket error tells anyone.
        proxy.Blackhole();
        var call = Stopwatch.StartNew();
        var (userId, _) = await a.PublishAsync();
        var roundStarted = call.Elapsed;
        await a.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None);
        var took = call.Elapsed;

        Assert.False(c.Cache.IsTrusted, "the call returned before the silent C fenced itself");
        Assert.False(c.Apps!.WasHanded(userId));
        Assert.True(b.Apps!.WasHanded(userId));
        Assert.Equal(1, a.State.RoundSilentNodes);

        // C was silent on the publish: it fenced within FenceAfter and a tick of it, and its apps' leases ran out one lease
        // later; the round waits no longer than that, and never more than one lease.
        var lease = TimeSpan.FromSeconds(1);
        Assert.True(took - roundStarted <= lease + Margin, $"the round took {(took - roundStarted).TotalMilliseconds:0} ms");
        Assert.True(took <= Defaults.AckTimeout + lease + Margin, $"publish and round took {took.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task A_node_cut_off_after_it_applied_the_change_is_waited_for_one_lease_from_the_call()
    {
        var prefix = TestRedis.NewPrefix();
        var port = int.Parse(TestRedis.Configuration.Split(',')[0].Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        await using var proxy = new TcpChaosProxy(port);
        await using var a = await StartAsync("A", prefix, new TestRelyingApps());
        await using var c = await StartAsync("C", prefix, new TestRelyingApps(), configuration: proxy.Configuration);
        await Eventually.AllTrustedAsync([a, c], Settle);

        var (userId, _) = await a.PublishAsync();
        Assert.True(c.Apps!.WasHanded(userId));

        // C applied the change (its apps were handed it); then it goes silent. Its apps' leases granted before the change
        // run out one lease after it applied it: the round waits one lease from the call, no less.
        proxy.Blackhole();
        var watch = Stopwatch.StartNew();
        await a.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None);
        var took = watch.Elapsed;

        var lease = TimeSpan.FromSeconds(1);
        Assert.True(took >= lease - TimeSpan.FromMilliseconds(50), $"the round returned after {took.TotalMilliseconds:0} ms, before the lease ran out");
        Assert.True(took <= lease + Margin, $"the round took {took.TotalMilliseconds:0} ms");
        Assert.Equal(1, a.State.RoundSilentNodes);
    }

    [Fact]
    public async Task Several_rounds_at_once_each_wait_for_the_apps_and_all_return()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps(), longLease: true);
        await using var b = await StartAsync("B", prefix, new TestRelyingApps { ConfirmAtOnce = false }, longLease: true);
        await using var c = await StartAsync("C", prefix, new TestRelyingApps(), longLease: true);
        await Eventually.AllTrustedAsync([a, b, c], Settle);

        var rounds = new List<Task>();
        for (var i = 0; i < 4; i++)
        {
            await a.PublishAsync();
            rounds.Add(a.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None));
            await c.PublishAsync();
            rounds.Add(c.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None));
        }

        await Eventually.TrueAsync(() => b.Apps!.Waiting == 8, Settle, "B's apps are asked once per round");
        Assert.DoesNotContain(rounds, round => round.IsCompleted);

        b.Apps!.ConfirmAll();
        await Task.WhenAll(rounds).WaitAsync(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(0, a.State.RoundSilentNodes + c.State.RoundSilentNodes);
        Assert.Equal(4, a.State.RelyingAppRounds);
    }

    [Fact]
    public async Task A_node_that_joins_during_a_round_is_not_waited_for_by_it_and_is_by_the_next()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps(), longLease: true);
        await using var b = await StartAsync("B", prefix, new TestRelyingApps { ConfirmAtOnce = false }, longLease: true);
        await Eventually.AllTrustedAsync([a, b], Settle);

        await a.PublishAsync();
        var first = a.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None);
        await Eventually.TrueAsync(() => b.Apps!.Waiting == 1, Settle, "B's apps are asked");

        await using var c = await StartAsync("C", prefix, new TestRelyingApps { ConfirmAtOnce = false }, longLease: true);
        await Eventually.TrueAsync(() => a.State.LiveNodes.Contains(c.NodeId), Settle, "C is live");
        Assert.False(first.IsCompleted);
        b.Apps!.ConfirmAll();
        await first.WaitAsync(Settle, TestContext.Current.CancellationToken);
        Assert.Empty(c.Apps!.Asked);
        Assert.Equal(0, a.State.RoundSilentNodes);

        // The next round asks C too, and waits for its apps.
        b.Apps.ConfirmAtOnce = true;
        await a.PublishAsync();
        var second = a.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None);
        await Eventually.TrueAsync(() => c.Apps.Waiting == 1, Settle, "C's apps are asked");
        Assert.False(second.IsCompleted, "the round returned before C's apps confirmed");
        c.Apps.ConfirmAll();
        await second.WaitAsync(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(0, a.State.RoundSilentNodes);
    }

    [Fact]
    public async Task A_node_alone_asks_only_its_own_apps()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps { ConfirmAtOnce = false });
        await Eventually.AllTrustedAsync([a], Settle);

        var round = a.Bus.WhenRelyingAppsConfirmedAsync([], CancellationToken.None);
        await Eventually.TrueAsync(() => a.Apps!.Waiting == 1, Settle, "A's apps are asked");
        Assert.False(round.IsCompleted);
        a.Apps!.ConfirmAll();
        await round.WaitAsync(Settle, TestContext.Current.CancellationToken);
        Assert.Equal(0, a.State.RoundAnswersAwaited);
    }

    [Fact]
    public async Task A_stopping_node_with_relying_apps_stays_live_until_their_leases_ran_out_and_never_trusts_again()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await StartAsync("A", prefix, new TestRelyingApps());
        var b = await StartAsync("B", prefix, new TestRelyingApps());
        await Eventually.AllTrustedAsync([a, b], Settle);

        var watch = Stopwatch.StartNew();
        var stopping = b.StopAsync();
        await Eventually.TrueAsync(() => !b.Cache.IsTrusted, Settle, "B fences itself first");
        Assert.Contains(b.NodeId, a.State.LiveNodes);
        await stopping;
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1) - TimeSpan.FromMilliseconds(50), $"B left after {watch.Elapsed.TotalMilliseconds:0} ms, before its apps' leases ran out");
        Assert.False(b.Cache.IsTrusted, "B trusted its cache again while leaving");
        await Eventually.TrueAsync(() => !a.State.LiveNodes.Contains(b.NodeId), Defaults.HeartbeatInterval + Margin, "B leaves the live nodes");
        await b.DisposeAsync();
    }

    /// <summary>
    /// Publishes from <paramref name="publisher"/> until every one of <paramref name="confirming"/> says in its
    /// acknowledgement that its apps were confirmed: a node says so only one lease after its last failure, which for a
    /// node just started is its start.
    /// </summary>
    private static async Task<PublishReceipt> PublishUntilConfirmedOnAsync(ClusterNode publisher, params ClusterNode[] confirming)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var userId = "u-" + Guid.NewGuid().ToString("N")[..10];
            var receipt = await publisher.Bus.PublishAsync(Invalidation.ForUser(userId, ["s-" + userId], RevocationReason.UserBanned), CancellationToken.None);
            if (confirming.All(node => receipt.AppsConfirmedOn.Contains(node.NodeId)))
            {
                return receipt;
            }

            Assert.True(deadline.Elapsed < Settle, $"the acknowledgements never said the apps were confirmed (last: {string.Join(", ", receipt.AppsConfirmedOn)})");
            await Task.Delay(TimeSpan.FromMilliseconds(100), TestContext.Current.CancellationToken);
        }
    }
}
