using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Options;
using Tessera.Core.Sessions;
using Tessera.Core.Throttling;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Redis.Tests;

/// <summary>Remembers every invalidation this node applied, and when.</summary>
public sealed class RecordingHandler : IInvalidationHandler
{
    private readonly ConcurrentDictionary<string, Invalidation> _byUser = new(StringComparer.Ordinal);

    public int Count => _byUser.Count;

    public void Handle(Invalidation invalidation)
    {
        if (invalidation.UserId is { } userId)
        {
            _byUser.TryAdd(userId, invalidation);
        }
    }

    public bool Saw(string userId) => _byUser.ContainsKey(userId);

    public Invalidation? Get(string userId) => _byUser.GetValueOrDefault(userId);
}

/// <summary>
/// One Tessera node as far as Redis is concerned: its own service provider, session cache, recording handler,
/// Redis connection, bus and monitor; several of them in one process form a cluster on one Redis.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly IHostedService[] _hosted;
    private bool _stopped;

    private ClusterNode(string name, ServiceProvider services)
    {
        Name = name;
        _services = services;
        _hosted = [.. services.GetServices<IHostedService>()];
    }

    public string Name { get; }

    public IServiceProvider Services => _services;

    public SessionCache Cache => _services.GetRequiredService<SessionCache>();

    public RecordingHandler Handler => _services.GetRequiredService<RecordingHandler>();

    public IInvalidationBus Bus => _services.GetRequiredService<IInvalidationBus>();

    public RedisClusterState State => _services.GetRequiredService<RedisClusterState>();

    public IConnectionMultiplexer Redis => _services.GetRequiredService<IConnectionMultiplexer>();

    public IThrottle Throttle => _services.GetRequiredService<IThrottle>();

    public string NodeId => State.NodeId;

    /// <summary>The node's relying apps, when it was started with <see cref="TestRelyingApps"/>.</summary>
    public TestRelyingApps? Apps => _services.GetService<IRelyingApps>() as TestRelyingApps;

    public static async Task<ClusterNode> StartAsync(
        string name, string configuration, string prefix, Action<RedisClusterOptions>? configure = null, Action<TesseraOptions>? tessera = null,
        TestRelyingApps? apps = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(new TestOutputLoggerProvider(name)));
        services.AddOptions<TesseraOptions>().Configure(options => tessera?.Invoke(options));
        services.AddSingleton(new SessionCache());
        services.AddSingleton<RecordingHandler>();
        services.AddSingleton<IInvalidationHandler>(sp => sp.GetRequiredService<SessionCache>());
        services.AddSingleton<IInvalidationHandler>(sp => sp.GetRequiredService<RecordingHandler>());
        if (apps is not null)
        {
            // As the server's revocation streams are: handed every invalidation by a handler, after the others.
            services.AddSingleton<IRelyingApps>(apps);
            services.AddSingleton<IInvalidationHandler>(apps);
        }

        services.AddTesseraRedis(configuration, options =>
        {
            options.KeyPrefix = prefix;
            options.NodeId = $"{name}-{Guid.NewGuid():N}"[..16];
            configure?.Invoke(options);
        });

        var node = new ClusterNode(name, services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
        foreach (var hosted in node._hosted)
        {
            await hosted.StartAsync(TestContext.Current.CancellationToken);
        }

        return node;
    }

    /// <summary>
    /// Puts a session of <paramref name="userId"/> in this node's cache, as a check that read the store would (kept only
    /// while the cache is trusted).
    /// </summary>
    public void CacheSession(string userId) => CacheSessionRead(userId, Cache.Epoch);

    /// <summary>Fills the cache with a session read from the store after <paramref name="epochBeforeRead"/>, as the validator does.</summary>
    public void CacheSessionRead(string userId, long epochBeforeRead)
    {
        var now = DateTimeOffset.UtcNow;
        var user = new User { Id = userId, Email = $"{userId}@example.test", DisplayName = userId, CreatedAt = now, UpdatedAt = now };
        var session = new Session
        {
            Id = "s-" + userId,
            TokenHash = TokenOf(userId),
            UserId = userId,
            Device = new DeviceInfo("test", DevicePlatform.Cli, null, null, null),
            CreatedAt = now,
            LastActiveAt = now,
            AbsoluteExpiresAt = now.AddDays(1),
        };
        Cache.Add(KeyOf(userId), session, user, now, epochBeforeRead);
    }

    /// <summary>Whether this node would answer a check of the user's session from memory.</summary>
    public bool ServesFromCache(string userId) => Cache.TryGet(KeyOf(userId), out _);

    // The user's made-up token secret, and the two hashes of it: the store's and the node cache's.
    private static byte[] SecretOf(string userId) => SHA256.HashData(Encoding.UTF8.GetBytes(userId));

    private static TokenHash TokenOf(string userId) => SecretTokens.Hash(SecretOf(userId));

    private static TokenKey KeyOf(string userId) => SecretTokens.Key(SecretOf(userId));

    /// <summary>Publishes an invalidation for a new user id and returns the id and how long the call took.</summary>
    public async Task<(string UserId, TimeSpan Took)> PublishAsync(string? userId = null)
    {
        userId ??= "u-" + Guid.NewGuid().ToString("N")[..10];
        var watch = Stopwatch.StartNew();
        await Bus.PublishAsync(Invalidation.ForUser(userId, ["s-" + userId], RevocationReason.UserBanned), CancellationToken.None);
        return (userId, watch.Elapsed);
    }

    /// <summary>Stops the node as a host would: it fences itself and leaves the membership hash.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        foreach (var hosted in _hosted.Reverse())
        {
            await hosted.StopAsync(timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _services.DisposeAsync();
    }
}

/// <summary>Waits, with a bound, for something that happens on other threads.</summary>
public static class Eventually
{
    public static async Task<TimeSpan> TrueAsync(Func<bool> condition, TimeSpan within, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > within)
            {
                Assert.Fail($"Not within {within.TotalSeconds:0.#} s: {what}");
            }

            await Task.Delay(10);
        }

        return watch.Elapsed;
    }

    public static Task AllTrustedAsync(IEnumerable<ClusterNode> nodes, TimeSpan within) =>
        TrueAsync(
            () => nodes.All(n => n.Cache.IsTrusted && n.State.LiveNodes.Count >= nodes.Count()),
            within,
            "every node trusts its cache and sees every node live: " + string.Join("; ", nodes.Select(n => $"{n.Name}: {n.State.State} ({n.State.StateReason}), live {n.State.LiveNodes.Count}")));
}

/// <summary>Sends log lines to the running test's output, prefixed with the node's name.</summary>
public sealed class TestOutputLoggerProvider(string name) : ILoggerProvider
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    public ILogger CreateLogger(string categoryName) => new Logger(name, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void Dispose()
    {
    }

    private sealed class Logger(string node, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                TestContext.Current.TestOutputHelper?.WriteLine(
                    $"{Clock.Elapsed.TotalSeconds,8:0.000} {node} {logLevel} {category}: {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception.Message)}");
            }
            catch (InvalidOperationException)
            {
                // The test has finished; the line has nowhere to go.
            }
        }
    }
}
