using Xunit;

namespace Tessera.Redis.Tests;

/// <summary>The promise across nodes on a healthy cluster: a publish returns only once every live node applied it.</summary>
public sealed class BusTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    /// <summary>A new user whose session every given node holds in its cache (those that trust their cache).</summary>
    internal static string CachedOn(params ClusterNode[] nodes)
    {
        var userId = "u-" + Guid.NewGuid().ToString("N")[..10];
        foreach (var node in nodes)
        {
            node.CacheSession(userId);
        }

        return userId;
    }

    /// <summary>
    /// The promise, checked right after a publish returned: no node answers a check of the user's session from its
    /// cache. (A node that missed the message but fenced itself in between has emptied its cache, and whatever it
    /// caches after trusting again is read from the store after the change.)
    /// </summary>
    internal static void AssertNoNodeServes(string userId, params ClusterNode[] nodes)
    {
        foreach (var node in nodes)
        {
            Assert.False(node.ServesFromCache(userId), $"{node.Name} still answers {userId}'s session from its cache after the publish returned ({node.State.State}: {node.State.StateReason})");
        }
    }

    [Fact]
    public async Task A_publish_returns_only_after_every_other_node_applied_it()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix);
        await using var b = await ClusterNode.StartAsync("B", TestRedis.Configuration, prefix);
        await using var c = await ClusterNode.StartAsync("C", TestRedis.Configuration, prefix);
        await Eventually.AllTrustedAsync([a, b, c], Settle);

        var slowest = TimeSpan.Zero;
        for (var i = 0; i < 50; i++)
        {
            var publisher = (i % 3) switch { 0 => a, 1 => b, _ => c };
            var userId = CachedOn(a, b, c);
            Assert.True(a.ServesFromCache(userId) && b.ServesFromCache(userId) && c.ServesFromCache(userId));
            var (_, took) = await publisher.PublishAsync(userId);
            AssertNoNodeServes(userId, a, b, c);

            // Applied everywhere, not merely not-trusted: on a healthy cluster nobody is fenced.
            Assert.True(a.Handler.Saw(userId) && b.Handler.Saw(userId) && c.Handler.Saw(userId), $"publish {i} from {publisher.Name} returned before every node applied it");
            slowest = took > slowest ? took : slowest;
        }

        Assert.True(slowest < TimeSpan.FromSeconds(1), $"the slowest publish took {slowest.TotalMilliseconds:0} ms on a healthy cluster");
        Assert.All(new[] { a, b, c }, node => Assert.True(node.Cache.IsTrusted, $"{node.Name} fenced itself on a healthy cluster: {node.State.StateReason}"));
        Assert.Equal(a.State.AcksAwaited, a.State.AcksReceived);
        Assert.Equal(0, a.State.FencedNodes + b.State.FencedNodes + c.State.FencedNodes);
        Assert.Equal(50 - a.State.Publishes, a.State.InvalidationsReceived);
        Assert.NotNull(a.State.LastPingRoundTrip);
    }

    [Fact]
    public async Task The_invalidation_arrives_whole_with_its_reason()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix);
        await using var b = await ClusterNode.StartAsync("B", TestRedis.Configuration, prefix);
        await Eventually.AllTrustedAsync([a, b], Settle);

        await a.Bus.PublishAsync(Core.Invalidations.Invalidation.ForSessions("user-1", ["s1", "s2"], Core.Sessions.RevocationReason.SignedOutOtherDevices), CancellationToken.None);
        await a.Bus.PublishAsync(Core.Invalidations.Invalidation.ForUser("user-2", [], null), CancellationToken.None);

        var sessions = b.Handler.Get("user-1");
        Assert.NotNull(sessions);
        Assert.Equal(["s1", "s2"], sessions.SessionIds);
        Assert.Equal(Core.Sessions.RevocationReason.SignedOutOtherDevices, sessions.Reason);
        Assert.False(sessions.UserChanged);
        var user = b.Handler.Get("user-2");
        Assert.NotNull(user);
        Assert.Empty(user.SessionIds);
        Assert.Null(user.Reason);
        Assert.True(user.UserChanged);
    }

    [Fact]
    public async Task A_node_alone_publishes_without_waiting()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix);
        await Eventually.AllTrustedAsync([a], Settle);

        var (userId, took) = await a.PublishAsync();

        Assert.True(a.Handler.Saw(userId));
        Assert.True(took < TimeSpan.FromMilliseconds(500), $"took {took.TotalMilliseconds:0} ms");
        Assert.Equal(0, a.State.AcksAwaited);
    }

    [Fact]
    public async Task A_node_starts_fenced_and_trusts_only_after_proof()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix);

        Assert.False(a.Cache.IsTrusted);
        Assert.Equal(RedisNodeState.Fenced, a.State.State);
        var took = await Eventually.TrueAsync(() => a.Cache.IsTrusted, Settle, "A trusts its cache");

        // A full FenceAfter of unbroken proofs comes first.
        Assert.True(took >= TimeSpan.FromSeconds(0.9), $"trusted after {took.TotalMilliseconds:0} ms");
        Assert.Equal(RedisNodeState.Trusted, a.State.State);
        Assert.Contains(a.NodeId, a.State.LiveNodes);
    }

    [Fact]
    public async Task A_message_lost_on_the_way_fences_the_nodes_that_missed_it()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix);
        await using var b = await ClusterNode.StartAsync("B", TestRedis.Configuration, prefix);
        await Eventually.AllTrustedAsync([a, b], Settle);

        // A number given out whose message nobody received: what a subscription that reconnected in between sees.
        await a.Redis.GetDatabase().HashIncrementAsync($"{prefix}:{{bus}}:seq", "seq");

        var (userId, _) = await a.PublishAsync(CachedOn(a, b));
        AssertNoNodeServes(userId, a, b);
        await Eventually.TrueAsync(() => !b.Cache.IsTrusted, TimeSpan.FromSeconds(2), "B fences itself on the gap");
        Assert.True(b.State.SequenceGaps >= 1);
        Assert.Contains("never arrived", b.State.StateReason, StringComparison.Ordinal);

        // The gap is behind it: the node earns its trust back.
        await Eventually.AllTrustedAsync([a, b], Settle);
    }

    [Fact]
    public async Task Redis_losing_the_bus_state_fences_every_node_until_it_has_proof_again()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix);
        await using var b = await ClusterNode.StartAsync("B", TestRedis.Configuration, prefix);
        await Eventually.AllTrustedAsync([a, b], Settle);

        // What a Redis restarted without its data looks like to the bus.
        await a.Redis.GetDatabase().KeyDeleteAsync($"{prefix}:{{bus}}:seq");

        await Eventually.TrueAsync(() => !a.Cache.IsTrusted && !b.Cache.IsTrusted, TimeSpan.FromSeconds(2), "both nodes fence on the new incarnation");
        await Eventually.AllTrustedAsync([a, b], Settle);
        var (userId, _) = await a.PublishAsync();
        Assert.True(b.Handler.Saw(userId));
    }
}
