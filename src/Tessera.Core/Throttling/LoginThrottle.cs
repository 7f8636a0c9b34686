using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tessera.Core.Options;

namespace Tessera.Core.Throttling;

/// <summary>Whether a login attempt may go ahead, and if not, how long to wait.</summary>
public readonly record struct ThrottleDecision(bool Allowed, TimeSpan RetryAfter)
{
    public static readonly ThrottleDecision Allow = new(true, TimeSpan.Zero);

    public static ThrottleDecision Wait(TimeSpan retryAfter) => new(false, retryAfter);
}

/// <summary>
/// Throttles logins per client IP (a fixed budget per minute) and per account (an exponential backoff after
/// repeated failures). A cluster shares the counters (Redis) behind this port so that a client cannot multiply
/// its attempts by the number of nodes.
/// </summary>
public interface ILoginThrottle
{
    /// <summary>Counts an attempt from <paramref name="clientIp"/> for <paramref name="accountKey"/> and decides.</summary>
    ValueTask<ThrottleDecision> TryAttemptAsync(string clientIp, string accountKey, CancellationToken cancellationToken);

    ValueTask RecordFailureAsync(string accountKey, CancellationToken cancellationToken);

    ValueTask RecordSuccessAsync(string accountKey, CancellationToken cancellationToken);
}

/// <summary>The counters of one node, in memory.</summary>
public sealed class InMemoryLoginThrottle(TimeProvider clock, IOptions<TesseraOptions> options) : ILoginThrottle
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, IpWindow> _ips = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AccountFailures> _accounts = new(StringComparer.Ordinal);
    private readonly RateLimitingOptions _limits = options.Value.RateLimiting;
    private long _lastSweepTicks;

    public ValueTask<ThrottleDecision> TryAttemptAsync(string clientIp, string accountKey, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        SweepOccasionally(now);

        if (_accounts.TryGetValue(accountKey, out var failures) && failures.BlockedUntil(now, _limits) is { } blockedUntil)
        {
            return new(ThrottleDecision.Wait(blockedUntil - now));
        }

        var window = _ips.GetOrAdd(clientIp, static _ => new IpWindow());
        lock (window)
        {
            if (now >= window.Start + Window)
            {
                window.Start = now;
                window.Count = 0;
            }

            if (window.Count >= _limits.LoginPerIpPerMinute)
            {
                return new(ThrottleDecision.Wait(window.Start + Window - now));
            }

            window.Count++;
        }

        return new(ThrottleDecision.Allow);
    }

    public ValueTask RecordFailureAsync(string accountKey, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var failures = _accounts.GetOrAdd(accountKey, static _ => new AccountFailures());
        lock (failures)
        {
            // Failures long ago do not count against a new try.
            if (now - failures.LastFailure > _limits.MaximumBackoff)
            {
                failures.Count = 0;
            }

            failures.Count++;
            failures.LastFailure = now;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask RecordSuccessAsync(string accountKey, CancellationToken cancellationToken)
    {
        _accounts.TryRemove(accountKey, out _);
        return ValueTask.CompletedTask;
    }

    private void SweepOccasionally(DateTimeOffset now)
    {
        var last = Interlocked.Read(ref _lastSweepTicks);
        if (now.UtcTicks - last < Window.Ticks || Interlocked.CompareExchange(ref _lastSweepTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        foreach (var (ip, window) in _ips)
        {
            if (now >= window.Start + Window)
            {
                _ips.TryRemove(new KeyValuePair<string, IpWindow>(ip, window));
            }
        }

        foreach (var (account, failures) in _accounts)
        {
            if (now - failures.LastFailure > _limits.MaximumBackoff)
            {
                _accounts.TryRemove(new KeyValuePair<string, AccountFailures>(account, failures));
            }
        }
    }

    private sealed class IpWindow
    {
        public DateTimeOffset Start { get; set; } = DateTimeOffset.MinValue;

        public int Count { get; set; }
    }

    private sealed class AccountFailures
    {
        public int Count { get; set; }

        public DateTimeOffset LastFailure { get; set; }

        public DateTimeOffset? BlockedUntil(DateTimeOffset now, RateLimitingOptions limits)
        {
            int count;
            DateTimeOffset last;
            lock (this)
            {
                count = Count;
                last = LastFailure;
            }

            var excess = count - limits.FailedLoginsBeforeBackoff;
            if (excess < 0)
            {
                return null;
            }

            var backoff = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(excess, 20)));
            var until = last + (backoff < limits.MaximumBackoff ? backoff : limits.MaximumBackoff);
            return until > now ? until : null;
        }
    }
}
