using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Options;
using Tessera.Core.Throttling;
using Tessera.Redis;
using Tessera.Redis.Caching;
using Tessera.Redis.Invalidations;
using Tessera.Redis.Membership;
using Tessera.Redis.Throttling;

namespace Microsoft.Extensions.DependencyInjection;

public static class TesseraRedisServiceCollectionExtensions
{
    /// <summary>
    /// Makes this node a member of a Redis-backed cluster, with the settings under <c>Redis</c> in Tessera's configuration
    /// section (<c>Tessera:Redis:Configuration</c>, <c>Tessera:Redis:AckTimeout</c>, …: <see cref="RedisClusterOptions"/>),
    /// checked at start-up.
    /// </summary>
    /// <param name="services">The node's services; <c>AddTesseraCore</c> provides the session cache and handlers.</param>
    /// <param name="configuration">Tessera's configuration section (<c>Tessera</c>).</param>
    /// <inheritdoc cref="AddTesseraRedis(IServiceCollection, string, Action{RedisClusterOptions})" path="/remarks"/>
    public static IServiceCollection AddTesseraRedis(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<RedisClusterOptions>().Bind(configuration.GetSection(RedisClusterOptions.SectionName));
        return services.AddTesseraRedisServices();
    }

    /// <summary>Makes this node a member of the Redis-backed cluster of <paramref name="configuration"/>.</summary>
    /// <remarks>
    /// The cluster's parts: the invalidation bus that waits for every live node
    /// (<see cref="RedisInvalidationBus"/>), membership and the self-fencing watchdog (<see cref="ClusterMembership"/>,
    /// a hosted service), shared throttling of logins, password changes, registrations and reset requests (<see cref="RedisThrottle"/>), the shared session cache in front
    /// of the store (<see cref="RedisSessionSource"/>), and <see cref="RedisClusterState"/> for readiness and metrics.
    /// <para>The bus and the throttle <em>replace</em> whatever is registered for <see cref="IInvalidationBus"/> and
    /// <see cref="IThrottle"/>, so this may be called before or after <c>AddTesseraCore</c> (whose registrations
    /// only fill gaps). The Redis connection is made with <c>AbortOnConnectFail=false</c>: a node starts while Redis
    /// is down, and stays fenced (every session check reads the store) until it hears the bus.</para>
    /// </remarks>
    /// <param name="services">The node's services; <c>AddTesseraCore</c> provides the session cache and handlers.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string (<c>Tessera:Redis:Configuration</c>).</param>
    /// <param name="configure">Cluster timings and names; the defaults suit a LAN.</param>
    public static IServiceCollection AddTesseraRedis(
        this IServiceCollection services, string configuration, Action<RedisClusterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);

        var optionsBuilder = services.AddOptions<RedisClusterOptions>()
            .Configure(options => options.Configuration = configuration);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        return services.AddTesseraRedisServices();
    }

    /// <summary>The cluster's services, on <see cref="RedisClusterOptions"/> as the caller configured them.</summary>
    private static IServiceCollection AddTesseraRedisServices(this IServiceCollection services)
    {
        // The relying apps' lease is part of the cluster's timing argument: copied in before the validator runs.
        services.AddOptions<RedisClusterOptions>()
            .PostConfigure<IOptions<TesseraOptions>>((options, tessera) => options.RelyingAppLease = tessera.Value.Clients.RevocationLease)
            .ValidateOnStart();
        services.TryAddSingleton<IRelyingApps, NoRelyingApps>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisClusterOptions>, RedisClusterOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisClusterOptions>>().Value;
            return new RedisClusterState(options.NodeId ?? Guid.NewGuid().ToString("N"));
        });
        services.TryAddSingleton<IConnectionMultiplexer>(sp => Connect(
            sp.GetRequiredService<IOptions<RedisClusterOptions>>().Value,
            sp.GetRequiredService<RedisClusterState>().NodeId));

        services.TryAddSingleton(_ => new SharedEntryGate());
        services.TryAddSingleton<LocalNode>();
        services.TryAddSingleton(sp => new RedisInvalidationBus(
            sp.GetRequiredService<LocalNode>(), sp.GetRequiredService<IRelyingApps>(), sp.GetRequiredService<ILogger<RedisInvalidationBus>>()));
        services.Replace(ServiceDescriptor.Singleton<IInvalidationBus>(sp => sp.GetRequiredService<RedisInvalidationBus>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ClusterMembership>(sp => new ClusterMembership(
            sp.GetRequiredService<LocalNode>(),
            sp.GetRequiredService<RedisInvalidationBus>(),
            sp.GetRequiredService<ILogger<ClusterMembership>>())));

        services.Replace(ServiceDescriptor.Singleton<IThrottle, RedisThrottle>());

        // The shared session cache: in front of the store (registered by AddTesseraCore), and its gate told of every
        // change before anything else is.
        services.Replace(ServiceDescriptor.Singleton<ISessionSource>(sp => new RedisSessionSource(
            sp.GetRequiredService<StoreSessionSource>(),
            sp.GetRequiredService<SessionCache>(),
            sp.GetRequiredService<LocalNode>(),
            sp.GetRequiredService<ILogger<RedisSessionSource>>())));
        services.Insert(0, ServiceDescriptor.Singleton<IInvalidationHandler, SharedCacheInvalidationHandler>());
        return services;
    }

    /// <summary>
    /// Connects without failing when Redis is down (the multiplexer keeps trying), fails commands at once while
    /// disconnected rather than queueing them (the bus retries against its own deadline, the throttle falls back),
    /// and names the connection after the node, so that an operator can find it in <c>CLIENT LIST</c>.
    /// </summary>
    internal static ConnectionMultiplexer Connect(RedisClusterOptions options, string nodeId)
    {
        var configuration = ConfigurationOptions.Parse(options.Configuration);
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ClientName ??= $"{options.KeyPrefix}-{nodeId}";
        configuration.ReconnectRetryPolicy ??= new ExponentialRetry(250, 5_000);
        return ConnectionMultiplexer.Connect(configuration);
    }
}
