using System.Diagnostics;
using StackExchange.Redis;
using Tessera.Core.Invalidations;
using Xunit;
using Tessera.Testing;

namespace Tessera.Redis.Tests;

/// <summary>
/// The promise when parts fail: at the moment a publish returns, every node has applied it or is not serving from
/// its cache; and the cluster heals by itself when the part comes back.
/// </summary>
public sealed class FaultTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(15);
    private static readonly RedisClusterOptions Defaults = new();

    /// <summary>What a node may take to notice, on a loaded two-core machine, beyond what the options promise.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(750);

    [Fact]
    public async Task A_node_cut_off_silently_has_fenced_itself_before_the_publisher_stops_waiting_for_it()
    {
        var prefix = TestRedis.NewPrefix();
        var port = int.Parse(TestRedis.Configuration.Split(',')[0].Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        await using var proxy = new TcpChaosProxy(port);
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix);
        await using var b = await ClusterNode.StartAsync("B", TestRedis.Configuration, prefix);
        await using var c = await ClusterNode.StartAsync("C", proxy.Configuration, prefix);
        await Eventually.AllTrustedAsync([a, b, c], Settle);

        // C's connections stay open, but nothing moves: no socket error tells anyone.
        var cached = BusTests.CachedOn(a, b, c);
        proxy.Blackhole();
        var cut = Stopwatch.StartNew();
        var (userId, took) = await a.PublishAsync(cached);

        BusTests.AssertNoNodeServes(userId, a, b, c);
        Assert.False(c.Cache.IsTrusted, "C, silent since before the publish, must have fenced itself by the deadline");
        Assert.True(b.Handler.Saw(userId));
        Assert.False(c.Handler.Saw(userId));
        Assert.True(took >= Defaults.AckTimeout - TimeSpan.FromMilliseconds(50), $"A returned after {took.TotalMilliseconds:0} ms without C's acknowledgement");
        Assert.True(took < Defaults.AckTimeout + Margin, $"A waited {took.TotalMilliseconds:0} ms");
        Assert.Equal(1, a.State.FencedNodes);

        // The publisher stops waiting once C's heartbeat leaves the live window.
        await Eventually.TrueAsync(() => !a.State.LiveNodes.Contains(c.NodeId), Defaults.LiveWindow + Margin + Margin, "C drops out of the live nodes");
        Assert.True(cut.Elapsed >= Defaults.LiveWindow - Defaults.HeartbeatInterval - Margin, $"C dropped out after {cut.Elapsed.TotalMilliseconds:0} ms");
        var (quick, quickTook) = await a.PublishAsync(BusTests.CachedOn(a, b, c));
        Assert.True(quickTook < TimeSpan.FromSeconds(1), $"A still waited {quickTook.TotalMilliseconds:0} ms for a node that left");
        BusTests.AssertNoNodeServes(quick, a, b, c);

        // Healed: C applies what was held back, earns its trust back, and hears the next publish.
        proxy.Heal();
        await Eventually.TrueAsync(() => c.Handler.Saw(userId) && c.Handler.Saw(quick), Settle, "C applies the messages held in the partition");
        await Eventually.AllTrustedAsync([a, b, c], Settle);
        var (after, _) = await a.PublishAsync();
        Assert.True(c.Handler.Saw(after));
    }

    [Fact]
    public async Task A_node_fences_itself_within_FenceAfter_when_its_connection_goes_silent()
    {
        var prefix = TestRedis.NewPrefix();
        var port = int.Parse(TestRedis.Configuration.Split(',')[0].Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        await using var proxy = new TcpChaosProxy(port);
        await using var c = await ClusterNode.StartAsync("C", proxy.Configuration, prefix);
        await Eventually.AllTrustedAsync([c], Settle);

        proxy.Blackhole();
        var took = await Eventually.TrueAsync(() => !c.Cache.IsTrusted, Defaults.FenceAfter + Defaults.PingInterval + Margin, "C fences itself");
        Assert.Equal(RedisNodeState.Fenced, c.State.State);
        TestContext.Current.TestOutputHelper?.WriteLine($"fenced {took.TotalMilliseconds:0} ms after the cut: {c.State.StateReason}");
    }

    [Fact]
    public async Task Killing_a_nodes_connections_never_lets_it_serve_a_message_it_missed()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix);
        await using var c = await ClusterNode.StartAsync("C", TestRedis.Configuration, prefix);
        await Eventually.AllTrustedAsync([a, c], Settle);
        await using var admin = await ConnectionMultiplexer.ConnectAsync(TestRedis.Configuration + ",allowAdmin=true");
        var server = admin.GetServers().Single();
        var clientName = $"{prefix}-{c.NodeId}";

        for (var round = 0; round < 6; round++)
        {
            await Eventually.AllTrustedAsync([a, c], Settle);
            var fencesBefore = c.State.Fences;
            var cached = BusTests.CachedOn(a, c);
            Assert.True(c.ServesFromCache(cached));
            var killed = 0;
            foreach (var client in await server.ClientListAsync())
            {
                if (client.Name == clientName)
                {
                    killed += (int)await server.ClientKillAsync(client.Id, skipMe: false);
                }
            }

            Assert.True(killed >= 1, $"no connection named {clientName}");
            var (userId, _) = await a.PublishAsync(cached);
            BusTests.AssertNoNodeServes(userId, a, c);
            await Eventually.TrueAsync(() => c.State.Fences > fencesBefore, TimeSpan.FromSeconds(2), "C fences itself when its connection breaks");
        }

        await Eventually.AllTrustedAsync([a, c], Settle);
        var (last, took) = await a.PublishAsync();
        Assert.True(c.Handler.Saw(last));
        Assert.True(took < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_node_whose_subscriptions_vanish_without_a_word_subscribes_again()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix);
        await using var c = await ClusterNode.StartAsync("C", TestRedis.Configuration, prefix);
        await Eventually.AllTrustedAsync([a, c], Settle);

        // What a client library race after a reconnect leaves behind: the connection is fine, the subscriptions are
        // gone on both ends, and no event says so.
        await c.Redis.GetSubscriber().UnsubscribeAllAsync();
        var (missed, _) = await a.PublishAsync(BusTests.CachedOn(a, c));
        BusTests.AssertNoNodeServes(missed, a, c);
        Assert.False(c.Handler.Saw(missed));

        await Eventually.AllTrustedAsync([a, c], Settle);
        var (heard, took) = await a.PublishAsync(BusTests.CachedOn(a, c));
        Assert.True(c.Handler.Saw(heard));
        Assert.True(took < TimeSpan.FromSeconds(1), $"A waited {took.TotalMilliseconds:0} ms for C's acknowledgement");
    }

    [Fact]
    public async Task Redis_stopped_fences_every_node_and_restarted_brings_them_back()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", redis.Configuration, prefix);
        await using var b = await ClusterNode.StartAsync("B", redis.Configuration, prefix);
        await using var c = await ClusterNode.StartAsync("C", redis.Configuration, prefix);
        await Eventually.AllTrustedAsync([a, b, c], Settle);
        var cached = BusTests.CachedOn(a, b, c);

        await redis.KillAsync();
        await Eventually.TrueAsync(
            () => !a.Cache.IsTrusted && !b.Cache.IsTrusted && !c.Cache.IsTrusted,
            Defaults.FenceAfter + Defaults.PingInterval + Margin,
            "every node fences itself when Redis goes away");

        // The publisher applies the change locally and does not hang; it cannot claim the others heard it.
        BusTests.AssertNoNodeServes(cached, a, b, c);
        var userId = BusTests.CachedOn(a, b, c);
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<InvalidationNotConfirmedException>(() => a.PublishAsync(userId));
        Assert.True(watch.Elapsed < Defaults.AckTimeout + Margin, $"the publish took {watch.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(a.Handler.Saw(userId));
        Assert.Equal(1, a.State.PublishFailures);

        await redis.StartAgainAsync();
        await Eventually.AllTrustedAsync([a, b, c], TimeSpan.FromSeconds(30));

        // The message that could not go out is sent once Redis is back.
        await Eventually.TrueAsync(() => b.Handler.Saw(userId) && c.Handler.Saw(userId), Settle, "the failed invalidation is delivered later");
        Assert.True(a.State.Redeliveries >= 1);
        var (after, took) = await a.PublishAsync();
        Assert.True(b.Handler.Saw(after) && c.Handler.Saw(after));
        Assert.True(took < TimeSpan.FromSeconds(1), $"took {took.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task A_node_started_while_Redis_is_down_serves_nothing_from_memory_until_Redis_comes()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await redis.KillAsync();
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", redis.Configuration, prefix);

        await Task.Delay(Defaults.FenceAfter * 2, TestContext.Current.CancellationToken);
        Assert.False(a.Cache.IsTrusted);
        Assert.Equal(RedisNodeState.Fenced, a.State.State);

        await redis.StartAgainAsync();
        await using var b = await ClusterNode.StartAsync("B", redis.Configuration, prefix);
        await Eventually.AllTrustedAsync([a, b], TimeSpan.FromSeconds(30));
        var (userId, _) = await b.PublishAsync();
        Assert.True(a.Handler.Saw(userId));
    }

    [Fact]
    public async Task Membership_shows_live_nodes_drops_a_stopped_one_at_once_and_a_vanished_one_after_the_live_window()
    {
        var prefix = TestRedis.NewPrefix();
        var port = int.Parse(TestRedis.Configuration.Split(',')[0].Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        await using var proxy = new TcpChaosProxy(port);
        Action<RedisClusterOptions> shortRetention = options => options.DeadNodeRetention = TimeSpan.FromSeconds(4);
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix, shortRetention);
        await using var b = await ClusterNode.StartAsync("B", TestRedis.Configuration, prefix, shortRetention);
        await using var c = await ClusterNode.StartAsync("C", proxy.Configuration, prefix, shortRetention);
        await Eventually.AllTrustedAsync([a, b, c], Settle);
        Assert.Equal(new[] { a.NodeId, b.NodeId, c.NodeId }.Order(), a.State.LiveNodes.Order());

        // A clean stop leaves the hash at once.
        await b.StopAsync();
        await Eventually.TrueAsync(() => !a.State.LiveNodes.Contains(b.NodeId), Defaults.HeartbeatInterval + Margin, "B leaves the live nodes");

        // A node that vanishes (here: its network) stays listed until its heartbeat is older than the live window.
        proxy.Blackhole();
        var vanished = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => !a.State.LiveNodes.Contains(c.NodeId), Defaults.LiveWindow + Defaults.HeartbeatInterval + Margin, "C leaves the live nodes");
        Assert.True(vanished.Elapsed >= Defaults.LiveWindow - Defaults.HeartbeatInterval - Margin, $"C left after {vanished.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal([a.NodeId], a.State.LiveNodes);

        // Its entry is removed once older than the retention.
        var database = a.Redis.GetDatabase();
        Assert.True(await database.HashExistsAsync($"{prefix}:{{bus}}:nodes", c.NodeId));
        await Eventually.TrueAsync(
            () => !database.HashExists($"{prefix}:{{bus}}:nodes", c.NodeId),
            TimeSpan.FromSeconds(4) - Defaults.LiveWindow + Defaults.HeartbeatInterval + Margin + Margin,
            "C's entry is removed after the retention");
    }
}
