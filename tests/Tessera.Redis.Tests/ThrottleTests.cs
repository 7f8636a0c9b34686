using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Tessera.Core.Options;
using Tessera.Core.Throttling;
using Xunit;

namespace Tessera.Redis.Tests;

/// <summary>Login throttling shared through Redis: the same rules as one node's, whichever node a client reaches.</summary>
public sealed class ThrottleTests
{
    private static void Limits(TesseraOptions options)
    {
        options.RateLimiting.LoginPerIpPerMinute = 5;
        options.RateLimiting.FailedLoginsBeforeBackoff = 2;
        options.RateLimiting.MaximumBackoff = TimeSpan.FromMinutes(15);
    }

    private static RedisLoginThrottle Throttle(IConnectionMultiplexer redis, string prefix, TimeProvider clock) =>
        new(
            redis,
            clock,
            Options.Create(Configured()),
            Options.Create(new RedisClusterOptions { Configuration = "unused", KeyPrefix = prefix }),
            NullLogger<RedisLoginThrottle>.Instance);

    private static TesseraOptions Configured()
    {
        var options = new TesseraOptions();
        Limits(options);
        return options;
    }

    [Fact]
    public async Task The_per_IP_budget_is_shared_by_the_nodes_not_multiplied_by_them()
    {
        var prefix = TestRedis.NewPrefix();
        await using var a = await ClusterNode.StartAsync("A", TestRedis.Configuration, prefix, tessera: Limits);
        await using var b = await ClusterNode.StartAsync("B", TestRedis.Configuration, prefix, tessera: Limits);
        Assert.IsType<RedisLoginThrottle>(a.Throttle);
        var ct = TestContext.Current.CancellationToken;

        // Five attempts from one IP, spread over both nodes, each for another account.
        for (var i = 0; i < 5; i++)
        {
            var node = i % 2 == 0 ? a : b;
            Assert.True((await node.Throttle.TryAttemptAsync("203.0.113.7", $"user{i}@example.test", ct)).Allowed, $"attempt {i + 1} on {node.Name}");
        }

        var refusedOnA = await a.Throttle.TryAttemptAsync("203.0.113.7", "other@example.test", ct);
        var refusedOnB = await b.Throttle.TryAttemptAsync("203.0.113.7", "other@example.test", ct);
        Assert.False(refusedOnA.Allowed);
        Assert.False(refusedOnB.Allowed);
        Assert.InRange(refusedOnB.RetryAfter, TimeSpan.FromSeconds(50), TimeSpan.FromMinutes(1));

        // Another IP has its own budget.
        Assert.True((await b.Throttle.TryAttemptAsync("203.0.113.8", "other@example.test", ct)).Allowed);

        // The window expires with the key, set in the same step as the first count.
        var ttl = await a.Redis.GetDatabase().KeyTimeToLiveAsync($"{prefix}:{{ip:203.0.113.7}}:logins");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(50), TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Failures_recorded_on_one_node_hold_the_account_back_on_another_with_the_same_backoff()
    {
        var prefix = TestRedis.NewPrefix();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
        await using var redisA = await ConnectionMultiplexer.ConnectAsync(TestRedis.Configuration);
        await using var redisB = await ConnectionMultiplexer.ConnectAsync(TestRedis.Configuration);
        var a = Throttle(redisA, prefix, clock);
        var b = Throttle(redisB, prefix, clock);
        var reference = new InMemoryLoginThrottle(clock, Options.Create(Configured()));
        var ct = TestContext.Current.CancellationToken;
        const string account = "alice@example.test";

        var attempt = 0;
        async Task Same(string what)
        {
            attempt++;
            var ip = $"198.51.100.{attempt}";
            var node = attempt % 2 == 0 ? a : b;
            var expected = await reference.TryAttemptAsync(ip, account, ct);
            var actual = await node.TryAttemptAsync(ip, account, ct);
            Assert.True(expected == actual, $"{what}: one node alone says {expected}, the cluster says {actual}");
        }

        async Task Fail(RedisLoginThrottle node)
        {
            await node.RecordFailureAsync(account, ct);
            await reference.RecordFailureAsync(account, ct);
        }

        // Failures recorded on either node count together, with the one-node formula: 1 s, 2 s, 4 s... after the
        // allowed failures.
        await Fail(a);
        await Same("after one failure");
        await Fail(b);
        await Same("after two failures");
        await Fail(a);
        await Same("after three failures");
        Assert.Equal(TimeSpan.FromSeconds(2), (await b.TryAttemptAsync("198.51.100.200", account, ct)).RetryAfter);
        clock.Advance(TimeSpan.FromSeconds(1));
        await Same("a second later");
        clock.Advance(TimeSpan.FromSeconds(1));
        await Same("once the backoff is over");
        await Fail(b);
        await Same("after four failures");
        Assert.Equal(TimeSpan.FromSeconds(4), (await a.TryAttemptAsync("198.51.100.201", account, ct)).RetryAfter);

        // A success on either node clears the account.
        await a.RecordSuccessAsync(account, ct);
        await reference.RecordSuccessAsync(account, ct);
        await Same("after a success");

        // Failures older than the longest backoff no longer count.
        for (var i = 0; i < 5; i++)
        {
            await Fail(i % 2 == 0 ? a : b);
        }

        await Same("after five failures");
        clock.Advance(TimeSpan.FromMinutes(16));
        await Fail(a);
        await Same("after a failure long after the others");

        var ttl = await redisA.GetDatabase().KeyTimeToLiveAsync($"{prefix}:{{acct:{account}}}:failures");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(16));
    }

    [Fact]
    public async Task Without_Redis_each_node_throttles_on_its_own_and_answers_quickly()
    {
        var clock = TimeProvider.System;
        // Connected the way AddTesseraRedis connects (commands fail at once while disconnected).
        await using var redis = TesseraRedisServiceCollectionExtensions.Connect(
            new RedisClusterOptions { Configuration = $"127.0.0.1:{TestRedis.FreePort()},connectTimeout=200" }, "throttle-test");
        var throttle = Throttle(redis, TestRedis.NewPrefix(), clock);
        var ct = TestContext.Current.CancellationToken;

        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await throttle.TryAttemptAsync("192.0.2.1", $"u{i}@example.test", ct)).Allowed);
        }

        Assert.False((await throttle.TryAttemptAsync("192.0.2.1", "x@example.test", ct)).Allowed);
        await throttle.RecordFailureAsync("x@example.test", ct);
        await throttle.RecordSuccessAsync("x@example.test", ct);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed.TotalMilliseconds:0} ms");
    }
}
