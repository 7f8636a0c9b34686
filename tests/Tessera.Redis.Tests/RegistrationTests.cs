using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Throttling;
using Xunit;
using Tessera.Redis.Caching;
using Tessera.Redis.Invalidations;
using Tessera.Redis.Throttling;

namespace Tessera.Redis.Tests;

public sealed class RegistrationTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Redis_parts_replace_the_single_node_defaults_whichever_is_registered_first(bool redisFirst)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        if (redisFirst)
        {
            services.AddTesseraRedis(TestRedis.Configuration, o => o.KeyPrefix = TestRedis.NewPrefix());
            services.AddTesseraCore();
        }
        else
        {
            services.AddTesseraCore();
            services.AddTesseraRedis(TestRedis.Configuration, o => o.KeyPrefix = TestRedis.NewPrefix());
        }

        await using var provider = services.BuildServiceProvider();
        Assert.IsType<RedisInvalidationBus>(provider.GetRequiredService<IInvalidationBus>());
        Assert.IsType<RedisThrottle>(provider.GetRequiredService<IThrottle>());
        Assert.Single(services, d => d.ServiceType == typeof(IInvalidationBus));
        Assert.Single(services, d => d.ServiceType == typeof(IThrottle));
        // The monitor is made by a factory (its constructor is internal); the core's flusher is by type.
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationFactory is not null);
        Assert.Same(provider.GetRequiredService<IInvalidationBus>(), provider.GetRequiredService<RedisInvalidationBus>());
        // The shared session cache replaces the store as the source of misses (made by a factory: no store here).
        Assert.Single(services, d => d.ServiceType == typeof(ISessionSource) && d.ImplementationFactory is not null);

        // The shared cache's gate hears of a change before the session cache drops its entries (see the handler).
        var handlers = provider.GetServices<IInvalidationHandler>().ToList();
        Assert.IsType<SharedCacheInvalidationHandler>(handlers[0]);
        Assert.Contains(handlers, h => h is SessionCache);

        // Resolving the bus makes the node, and the node starts fenced.
        Assert.False(provider.GetRequiredService<SessionCache>().IsTrusted);
        Assert.Equal(RedisNodeState.Fenced, provider.GetRequiredService<RedisClusterState>().State);
    }

    [Fact]
    public void Defaults_are_valid()
    {
        var result = new RedisClusterOptionsValidator().Validate(null, new RedisClusterOptions { Configuration = "localhost" });
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData("AckTimeout", 1000, "AckTimeout must exceed FenceAfter")]
    [InlineData("FenceAfter", 2000, "AckTimeout must exceed FenceAfter")]
    [InlineData("FenceAfter", 400, "FenceAfter must be at least twice PingInterval")]
    [InlineData("LiveWindow", 1000, "LiveWindow must exceed")]
    [InlineData("DeadNodeRetention", 2000, "DeadNodeRetention must exceed LiveWindow")]
    [InlineData("PingInterval", 0, "PingInterval must be positive")]
    public void Timings_that_break_the_fencing_argument_fail_at_start(string property, int milliseconds, string message)
    {
        var options = new RedisClusterOptions { Configuration = "localhost" };
        typeof(RedisClusterOptions).GetProperty(property)!.SetValue(options, TimeSpan.FromMilliseconds(milliseconds));

        var result = new RedisClusterOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1000, 3000, null)]
    [InlineData(2000, 3000, "LiveWindow must exceed twice HeartbeatInterval plus twice PingInterval plus Tessera:Clients:RevocationLease")]
    [InlineData(2500, 5000, null)]
    [InlineData(0, 3000, "Tessera:Clients:RevocationLease must be positive")]
    public void The_relying_apps_lease_must_fit_in_the_live_window(int leaseMilliseconds, int liveWindowMilliseconds, string? message)
    {
        var options = new RedisClusterOptions
        {
            Configuration = "localhost",
            LiveWindow = TimeSpan.FromMilliseconds(liveWindowMilliseconds),
            RelyingAppLease = TimeSpan.FromMilliseconds(leaseMilliseconds),
        };

        var result = new RedisClusterOptionsValidator().Validate(null, options);

        if (message is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.True(result.Failed);
            Assert.Contains(message, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_lease_comes_from_the_clients_settings_and_a_lease_too_long_for_the_live_window_stops_the_node()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(new SessionCache());
        services.AddOptions<Tessera.Core.Options.TesseraOptions>().Configure(o => o.Clients.RevocationLease = TimeSpan.FromSeconds(2));
        services.AddTesseraRedis(TestRedis.Configuration);
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IInvalidationBus>());
        Assert.Contains("RevocationLease", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a{b}")]
    [InlineData("a|b")]
    public void A_key_prefix_that_would_break_hash_tags_or_the_envelope_fails(string prefix)
    {
        var result = new RedisClusterOptionsValidator().Validate(null, new RedisClusterOptions { Configuration = "localhost", KeyPrefix = prefix });
        Assert.True(result.Failed);
    }

    [Fact]
    public void Invalid_options_stop_the_node_from_being_built()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(new SessionCache());
        services.AddTesseraRedis(TestRedis.Configuration, o => o.FenceAfter = TimeSpan.FromSeconds(5));
        using var provider = services.BuildServiceProvider();

        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IInvalidationBus>());
    }
}
