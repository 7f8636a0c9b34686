using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Tessera.Core.Options;
using Tessera.Core.Throttling;
using Xunit;
using Tessera.Redis.Throttling;

namespace Tessera.Redis.Tests;

/// <summary>Throttling shared through Redis: the same rules as one node's, whichever node a client reaches.</summary>
public sealed class ThrottleTests
{
    private static void Limits(TesseraOptions options)
    {
        options.RateLimiting.LoginPerIpPerMinute = 5;
        options.RateLimiting.FailedLoginsBeforeBackoff = 2;
        options.RateLimiting.MaximumBackoff = TimeSpan.FromMinutes(15);
        options.RateLimiting.RegistrationsPerIpPerHour = 4;
        options.RateLimiting.RegistrationsPerEmailPerHour = 2;
        options.RateLimiting.ResetRequestsPerIpPerHour = 100;
        options.RateLimiting.ResetRequestsPerEmailPerHour = 3;
        options.RateLimiting.FailedPasswordChangesBeforeBackoff = 2;
        options.RateLimiting.FailedClientAuthenticationsBeforeBackoff = 2;
    }

    private static RedisThrottle Throttle(IConnectionMultiplexer redis, string prefix, TimeProvider clock) =>
        new(
            redis,
            clock,
            Options.Create(Configured()),
            Options.Create(new RedisClusterOptions { Configuration = "unused", KeyPrefix = prefix }),
            NullLogger<RedisThrottle>.Instance);

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
        Assert.IsType<RedisThrottle>(a.Throttle);
        var ct = TestContext.Current.CancellationToken;

        // Five attempts from one IP, spread over both nodes, each for another account.
        for (var i = 0; i < 5; i++)
        {
            var node = i % 2 == 0 ? a : b;
            Assert.True((await node.Throttle.TryAttemptAsync(ThrottledAction.Login, "203.0.113.7", $"user{i}@example.test", ct)).Allowed, $"attempt {i + 1} on {node.Name}");
        }

        var refusedOnA = await a.Throttle.TryAttemptAsync(ThrottledAction.Login, "203.0.113.7", "other@example.test", ct);
        var refusedOnB = await b.Throttle.TryAttemptAsync(ThrottledAction.Login, "203.0.113.7", "other@example.test", ct);
        Assert.False(refusedOnA.Allowed);
        Assert.False(refusedOnB.Allowed);
        Assert.InRange(refusedOnB.RetryAfter, TimeSpan.FromSeconds(50), TimeSpan.FromMinutes(1));

        // Another IP has its own budget.
        Assert.True((await b.Throttle.TryAttemptAsync(ThrottledAction.Login, "203.0.113.8", "other@example.test", ct)).Allowed);

        // The window expires with the key, set in the same step as the first count.
        var ttl = await a.Redis.GetDatabase().KeyTimeToLiveAsync($"{prefix}:{{ip:203.0.113.7}}:logins");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(50), TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Failures_recorded_on_one_node_hold_the_account_back_on_another_with_the_same_backoff()
    {
        await using var nodes = await TwoNodes.ConnectAsync();
        var (prefix, clock, redisA, a, b) = (nodes.Prefix, nodes.Clock, nodes.RedisA, nodes.A, nodes.B);
        var reference = new InMemoryThrottle(clock, Options.Create(Configured()));
        var ct = TestContext.Current.CancellationToken;
        const string account = "alice@example.test";

        var attempt = 0;
        async Task Same(string what)
        {
            attempt++;
            var ip = $"198.51.100.{attempt}";
            var node = attempt % 2 == 0 ? a : b;
            var expected = await reference.TryAttemptAsync(ThrottledAction.Login, ip, account, ct);
            var actual = await node.TryAttemptAsync(ThrottledAction.Login, ip, account, ct);
            Assert.True(expected == actual, $"{what}: one node alone says {expected}, the cluster says {actual}");
        }

        async Task Fail(RedisThrottle node)
        {
            await node.RecordFailureAsync(ThrottledAction.Login, account, ct);
            await reference.RecordFailureAsync(ThrottledAction.Login, account, ct);
        }

        // Failures recorded on either node count together, with the one-node formula: 1 s, 2 s, 4 s... after the
        // allowed failures.
        await Fail(a);
        await Same("after one failure");
        await Fail(b);
        await Same("after two failures");
        await Fail(a);
        await Same("after three failures");
        Assert.Equal(TimeSpan.FromSeconds(2), (await b.TryAttemptAsync(ThrottledAction.Login, "198.51.100.200", account, ct)).RetryAfter);
        clock.Advance(TimeSpan.FromSeconds(1));
        await Same("a second later");
        clock.Advance(TimeSpan.FromSeconds(1));
        await Same("once the backoff is over");
        await Fail(b);
        await Same("after four failures");
        Assert.Equal(TimeSpan.FromSeconds(4), (await a.TryAttemptAsync(ThrottledAction.Login, "198.51.100.201", account, ct)).RetryAfter);

        // A success on either node clears the account.
        await a.RecordSuccessAsync(ThrottledAction.Login, account, ct);
        await reference.RecordSuccessAsync(ThrottledAction.Login, account, ct);
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

        var ttl = await redisA.GetDatabase().KeyTimeToLiveAsync($"{prefix}:{{acct:{account}}}:logins:failures");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(16));
    }

    [Fact]
    public async Task Registration_and_reset_budgets_per_address_and_per_account_are_shared_by_the_nodes()
    {
        await using var nodes = await TwoNodes.ConnectAsync();
        var (prefix, redisA, a, b) = (nodes.Prefix, nodes.RedisA, nodes.A, nodes.B);
        var ct = TestContext.Current.CancellationToken;

        // Four registrations an hour from one address, whichever node takes them.
        for (var i = 0; i < 4; i++)
        {
            Assert.True((await (i % 2 == 0 ? a : b).TryAttemptAsync(ThrottledAction.Registration, "203.0.113.9", $"new{i}@example.test", ct)).Allowed);
        }

        var refused = await a.TryAttemptAsync(ThrottledAction.Registration, "203.0.113.9", "new9@example.test", ct);
        Assert.False(refused.Allowed);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));

        // Three reset requests an hour for one account, from any addresses and nodes; other accounts are not held back.
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await (i % 2 == 0 ? b : a).TryAttemptAsync(ThrottledAction.PasswordResetRequest, $"198.51.100.{i}", "owner@example.test", ct)).Allowed);
        }

        Assert.False((await a.TryAttemptAsync(ThrottledAction.PasswordResetRequest, "198.51.100.50", "owner@example.test", ct)).Allowed);
        Assert.False((await b.TryAttemptAsync(ThrottledAction.PasswordResetRequest, "198.51.100.51", "owner@example.test", ct)).Allowed);
        Assert.True((await b.TryAttemptAsync(ThrottledAction.PasswordResetRequest, "198.51.100.51", "other@example.test", ct)).Allowed);

        // The login budget of the same address is its own.
        Assert.True((await a.TryAttemptAsync(ThrottledAction.Login, "203.0.113.9", "new9@example.test", ct)).Allowed);
        var ttl = await redisA.GetDatabase().KeyTimeToLiveAsync($"{prefix}:{{acct:owner@example.test}}:reset-requests");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task Wrong_current_passwords_on_one_node_hold_the_password_change_back_on_another_but_not_the_login()
    {
        await using var nodes = await TwoNodes.ConnectAsync();
        var (clock, a, b) = (nodes.Clock, nodes.A, nodes.B);
        var ct = TestContext.Current.CancellationToken;
        const string user = "usr_0123";

        await a.RecordFailureAsync(ThrottledAction.PasswordChange, user, ct);
        await b.RecordFailureAsync(ThrottledAction.PasswordChange, user, ct);

        var held = await b.TryAttemptAsync(ThrottledAction.PasswordChange, "203.0.113.70", user, ct);
        Assert.False(held.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(1), held.RetryAfter);
        Assert.True((await a.TryAttemptAsync(ThrottledAction.Login, "203.0.113.70", user, ct)).Allowed);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await a.TryAttemptAsync(ThrottledAction.PasswordChange, "203.0.113.70", user, ct)).Allowed);
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
            Assert.True((await throttle.TryAttemptAsync(ThrottledAction.Login, "192.0.2.1", $"u{i}@example.test", ct)).Allowed);
        }

        Assert.False((await throttle.TryAttemptAsync(ThrottledAction.Login, "192.0.2.1", "x@example.test", ct)).Allowed);
        await throttle.RecordFailureAsync(ThrottledAction.Login, "x@example.test", ct);
        await throttle.RecordSuccessAsync(ThrottledAction.Login, "x@example.test", ct);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed.TotalMilliseconds:0} ms");
    }

    /// <summary>Two nodes' throttles on their own connections to one Redis, with one fake clock and a fresh key prefix.</summary>
    [Fact]
    public async Task Client_authentications_have_no_budget_of_attempts_but_failures_from_an_address_hold_it_back_on_every_node()
    {
        await using var nodes = await TwoNodes.ConnectAsync();
        var (clock, redisA, a, b) = (nodes.Clock, nodes.RedisA, nodes.A, nodes.B);
        var ct = TestContext.Current.CancellationToken;
        const string ip = "203.0.113.9";
        const string addressKey = "ip:" + ip;

        // A relying app introspects on every request it serves: successful attempts are never refused, nor counted.
        for (var i = 0; i < 200; i++)
        {
            Assert.True((await (i % 2 == 0 ? a : b).TryAttemptAsync(ThrottledAction.ClientAuthentication, ip, addressKey, ct)).Allowed, $"attempt {i + 1}");
        }

        Assert.Empty(redisA.GetServers()[0].Keys(pattern: $"{nodes.Prefix}*ip:{ip}*client-authentications*"));

        // Two failures, one on each node: the third attempt waits on either, even from the right secret, for 1 s.
        await a.RecordFailureAsync(ThrottledAction.ClientAuthentication, addressKey, ct);
        await b.RecordFailureAsync(ThrottledAction.ClientAuthentication, addressKey, ct);
        var refused = await b.TryAttemptAsync(ThrottledAction.ClientAuthentication, ip, addressKey, ct);
        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);
        Assert.False((await a.TryAttemptAsync(ThrottledAction.ClientAuthentication, ip, addressKey, ct)).Allowed);
        Assert.True((await a.TryAttemptAsync(ThrottledAction.ClientAuthentication, "203.0.113.10", "ip:203.0.113.10", ct)).Allowed);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await a.TryAttemptAsync(ThrottledAction.ClientAuthentication, ip, addressKey, ct)).Allowed);
    }

    private sealed class TwoNodes : IAsyncDisposable
    {
        private readonly ConnectionMultiplexer _redisB;

        private TwoNodes(ConnectionMultiplexer redisA, ConnectionMultiplexer redisB)
        {
            (RedisA, _redisB) = (redisA, redisB);
            (A, B) = (Throttle(redisA, Prefix, Clock), Throttle(redisB, Prefix, Clock));
        }

        public string Prefix { get; } = TestRedis.NewPrefix();

        public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));

        public ConnectionMultiplexer RedisA { get; }

        public RedisThrottle A { get; }

        public RedisThrottle B { get; }

        public static async Task<TwoNodes> ConnectAsync() =>
            new(await ConnectionMultiplexer.ConnectAsync(TestRedis.Configuration), await ConnectionMultiplexer.ConnectAsync(TestRedis.Configuration));

        public async ValueTask DisposeAsync()
        {
            await RedisA.DisposeAsync();
            await _redisB.DisposeAsync();
        }
    }
}
