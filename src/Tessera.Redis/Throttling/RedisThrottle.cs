using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tessera.Core.Options;
using Tessera.Core.Throttling;
using Tessera.Redis.Internal;

namespace Tessera.Redis.Throttling;

/// <summary>
/// Throttling with the counters in Redis, shared by every node, so that a client cannot multiply its attempts by the
/// number of nodes. Same rules as <see cref="InMemoryThrottle"/>, per <see cref="ThrottlePolicy"/>: fixed windows per
/// client IP and per account (<c>INCR</c>, with the expiry set in the same script as the first count) and, for paths
/// that check a password, an exponential backoff of the account after repeated failures (a hash of count and last
/// failure that expires after the longest backoff).
/// <para>When Redis cannot answer within <see cref="RedisClusterOptions.OperationTimeout"/>, the node falls back on its
/// own in-memory counters: throttling stays on, per node, rather than blocking every attempt or none.</para>
/// </summary>
internal sealed partial class RedisThrottle : IThrottle
{
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);

    private readonly IConnectionMultiplexer _redis;
    private readonly TimeProvider _clock;
    private readonly RateLimitingOptions _limits;
    private readonly RedisKeys _keys;
    private readonly TimeSpan _timeout;
    private readonly InMemoryThrottle _fallback;
    private readonly ILogger<RedisThrottle> _logger;
    private long _lastWarningTicks = long.MinValue;

    public RedisThrottle(
        IConnectionMultiplexer redis,
        TimeProvider clock,
        IOptions<TesseraOptions> options,
        IOptions<RedisClusterOptions> redisOptions,
        ILogger<RedisThrottle> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(redisOptions);
        _redis = redis;
        _clock = clock;
        _limits = options.Value.RateLimiting;
        _keys = new RedisKeys(redisOptions.Value.KeyPrefix);
        _timeout = redisOptions.Value.OperationTimeout;
        _fallback = new InMemoryThrottle(clock, options);
        _logger = logger;
    }

    public async ValueTask<ThrottleDecision> TryAttemptAsync(ThrottledAction action, string clientIp, string accountKey, CancellationToken cancellationToken)
    {
        var policy = _limits.Policy(action);
        try
        {
            var database = _redis.GetDatabase();
            if (policy.FailuresBeforeBackoff > 0)
            {
                var failures = await database.HashGetAsync(_keys.AccountFailures(policy.Name, accountKey), [(RedisValue)"count", (RedisValue)"last"])
                    .WaitAsync(_timeout, _clock, cancellationToken).ConfigureAwait(false);
                var now = _clock.GetUtcNow();
                if (BlockedUntil(policy, failures[0], failures[1], now) is { } blockedUntil)
                {
                    return ThrottleDecision.Wait(blockedUntil - now);
                }
            }

            var decision = policy.PerAddress > 0
                ? await CountAsync(database, _keys.IpAttempts(policy.Name, ClientAddress.ThrottleKey(clientIp)), policy.PerAddress, policy.Window, cancellationToken)
                    .ConfigureAwait(false)
                : ThrottleDecision.Allow;
            if (decision.Allowed && policy.PerAccount > 0)
            {
                decision = await CountAsync(database, _keys.AccountAttempts(policy.Name, accountKey), policy.PerAccount, policy.Window, cancellationToken)
                    .ConfigureAwait(false);
            }

            return decision;
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            WarnFallback(exception);
            return await _fallback.TryAttemptAsync(action, clientIp, accountKey, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask RecordFailureAsync(ThrottledAction action, string accountKey, CancellationToken cancellationToken)
    {
        var policy = _limits.Policy(action);
        try
        {
            var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            var maximum = (long)policy.MaximumBackoff.TotalMilliseconds;
            await _redis.GetDatabase().ScriptEvaluateAsync(
                    RedisScripts.RecordFailure,
                    [_keys.AccountFailures(policy.Name, accountKey)],
                    [now, maximum, maximum + (long)policy.Window.TotalMilliseconds])
                .WaitAsync(_timeout, _clock, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            WarnFallback(exception);
            await _fallback.RecordFailureAsync(action, accountKey, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask RecordSuccessAsync(ThrottledAction action, string accountKey, CancellationToken cancellationToken)
    {
        await _fallback.RecordSuccessAsync(action, accountKey, cancellationToken).ConfigureAwait(false);
        try
        {
            await _redis.GetDatabase().KeyDeleteAsync(_keys.AccountFailures(_limits.Policy(action).Name, accountKey))
                .WaitAsync(_timeout, _clock, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            WarnFallback(exception);
        }
    }

    /// <summary>Counts one attempt in a fixed window shared by every node; refused once the budget is spent.</summary>
    private async Task<ThrottleDecision> CountAsync(IDatabase database, RedisKey key, int budget, TimeSpan window, CancellationToken cancellationToken)
    {
        var counted = (RedisResult[])(await database.ScriptEvaluateAsync(RedisScripts.CountAttempt, [key], [(long)window.TotalMilliseconds])
            .WaitAsync(_timeout, _clock, cancellationToken).ConfigureAwait(false))!;
        var count = (long)counted[0];
        var left = TimeSpan.FromMilliseconds((long)counted[1]);
        return count > budget ? ThrottleDecision.Wait(left) : ThrottleDecision.Allow;
    }

    private static DateTimeOffset? BlockedUntil(ThrottlePolicy policy, RedisValue countValue, RedisValue lastValue, DateTimeOffset now) =>
        countValue.TryParse(out long count) && long.TryParse((string?)lastValue, NumberStyles.None, CultureInfo.InvariantCulture, out var lastMs)
            ? policy.BlockedUntil(count, DateTimeOffset.FromUnixTimeMilliseconds(lastMs), now)
            : null;

    private void WarnFallback(Exception exception)
    {
        // Once a minute is enough to say that throttling runs per node.
        var now = _clock.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarningTicks);
        if (last != long.MinValue && _clock.GetElapsedTime(last, now) < WarningInterval)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _lastWarningTicks, now, last) == last)
        {
            LogFallback(exception.GetType().Name, exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Throttling cannot reach Redis ({Type}: {Message}); counting on this node alone until it can")]
    private partial void LogFallback(string type, string message);
}
