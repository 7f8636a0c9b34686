using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tessera.Core.Options;
using Tessera.Core.Throttling;

namespace Tessera.Redis;

/// <summary>
/// Login throttling with the counters in Redis, shared by every node, so that a client cannot multiply its attempts
/// by the number of nodes. Same rules as <see cref="InMemoryLoginThrottle"/>: a fixed one-minute window per client IP
/// (<c>INCR</c>, with the expiry set in the same script as the first count) and, per account, an exponential backoff
/// after repeated failures (a hash of count and last failure that expires after the longest backoff).
/// <para>When Redis cannot answer within <see cref="RedisClusterOptions.OperationTimeout"/>, the node falls back on its
/// own in-memory counters: throttling stays on, per node, rather than blocking every login or none.</para>
/// </summary>
public sealed partial class RedisLoginThrottle : ILoginThrottle
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly IConnectionMultiplexer _redis;
    private readonly TimeProvider _clock;
    private readonly RateLimitingOptions _limits;
    private readonly RedisKeys _keys;
    private readonly TimeSpan _timeout;
    private readonly InMemoryLoginThrottle _fallback;
    private readonly ILogger<RedisLoginThrottle> _logger;
    private long _lastWarningTicks = long.MinValue;

    public RedisLoginThrottle(
        IConnectionMultiplexer redis,
        TimeProvider clock,
        IOptions<TesseraOptions> options,
        IOptions<RedisClusterOptions> redisOptions,
        ILogger<RedisLoginThrottle> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(redisOptions);
        _redis = redis;
        _clock = clock;
        _limits = options.Value.RateLimiting;
        _keys = new RedisKeys(redisOptions.Value.KeyPrefix);
        _timeout = redisOptions.Value.OperationTimeout;
        _fallback = new InMemoryLoginThrottle(clock, options);
        _logger = logger;
    }

    public async ValueTask<ThrottleDecision> TryAttemptAsync(string clientIp, string accountKey, CancellationToken cancellationToken)
    {
        try
        {
            var database = _redis.GetDatabase();
            var failures = await database.HashGetAsync(_keys.AccountFailures(accountKey), [(RedisValue)"count", (RedisValue)"last"])
                .WaitAsync(_timeout, _clock, cancellationToken).ConfigureAwait(false);
            var now = _clock.GetUtcNow();
            if (BlockedUntil(failures[0], failures[1], now) is { } blockedUntil)
            {
                return ThrottleDecision.Wait(blockedUntil - now);
            }

            var counted = (RedisResult[])(await database.ScriptEvaluateAsync(
                    RedisScripts.CountIpAttempt, [_keys.IpLogins(clientIp)], [(long)Window.TotalMilliseconds])
                .WaitAsync(_timeout, _clock, cancellationToken).ConfigureAwait(false))!;
            var count = (long)counted[0];
            var left = TimeSpan.FromMilliseconds((long)counted[1]);
            return count > _limits.LoginPerIpPerMinute ? ThrottleDecision.Wait(left) : ThrottleDecision.Allow;
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            WarnFallback(exception);
            return await _fallback.TryAttemptAsync(clientIp, accountKey, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask RecordFailureAsync(string accountKey, CancellationToken cancellationToken)
    {
        try
        {
            var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            var maximum = (long)_limits.MaximumBackoff.TotalMilliseconds;
            await _redis.GetDatabase().ScriptEvaluateAsync(
                    RedisScripts.RecordFailure,
                    [_keys.AccountFailures(accountKey)],
                    [now, maximum, maximum + (long)Window.TotalMilliseconds])
                .WaitAsync(_timeout, _clock, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            WarnFallback(exception);
            await _fallback.RecordFailureAsync(accountKey, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask RecordSuccessAsync(string accountKey, CancellationToken cancellationToken)
    {
        await _fallback.RecordSuccessAsync(accountKey, cancellationToken).ConfigureAwait(false);
        try
        {
            await _redis.GetDatabase().KeyDeleteAsync(_keys.AccountFailures(accountKey))
                .WaitAsync(_timeout, _clock, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            WarnFallback(exception);
        }
    }

    /// <summary>The same formula as the in-memory throttle: 1 s, 2 s, 4 s... after the allowed failures, capped.</summary>
    private DateTimeOffset? BlockedUntil(RedisValue countValue, RedisValue lastValue, DateTimeOffset now)
    {
        if (!countValue.TryParse(out long count) || !long.TryParse((string?)lastValue, NumberStyles.None, CultureInfo.InvariantCulture, out var lastMs))
        {
            return null;
        }

        var excess = count - _limits.FailedLoginsBeforeBackoff;
        if (excess < 0)
        {
            return null;
        }

        var backoff = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(excess, 20)));
        var until = DateTimeOffset.FromUnixTimeMilliseconds(lastMs) + (backoff < _limits.MaximumBackoff ? backoff : _limits.MaximumBackoff);
        return until > now ? until : null;
    }

    private void WarnFallback(Exception exception)
    {
        // Once a minute is enough to say that throttling runs per node.
        var now = _clock.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarningTicks);
        if (last != long.MinValue && _clock.GetElapsedTime(last, now) < Window)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _lastWarningTicks, now, last) == last)
        {
            LogFallback(exception.GetType().Name, exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login throttling cannot reach Redis ({Type}: {Message}); counting on this node alone until it can")]
    private partial void LogFallback(string type, string message);
}
