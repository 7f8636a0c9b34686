using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tessera.Core.Options;

namespace Tessera.Core.Throttling;

/// <summary>The counters of one node, in memory.</summary>
public sealed class InMemoryThrottle(TimeProvider clock, IOptions<TesseraOptions> options) : IThrottle
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(string Policy, string Key), FixedWindow> _windows = new();
    private readonly ConcurrentDictionary<(string Policy, string Account), AccountFailures> _failures = new();
    private readonly RateLimitingOptions _limits = options.Value.RateLimiting;
    private long _lastSweepTicks;

    public ValueTask<ThrottleDecision> TryAttemptAsync(ThrottledAction action, string clientIp, string accountKey, CancellationToken cancellationToken)
    {
        var policy = _limits.Policy(action);
        var now = clock.GetUtcNow();
        SweepOccasionally(now);

        if (_failures.TryGetValue((policy.Name, accountKey), out var failures) && failures.BlockedUntil(now, policy) is { } blockedUntil)
        {
            return new(ThrottleDecision.Wait(blockedUntil - now));
        }

        var decision = policy.PerAddress > 0 ? Count(policy, "ip:" + ClientAddress.ThrottleKey(clientIp), policy.PerAddress, now) : ThrottleDecision.Allow;
        if (decision.Allowed && policy.PerAccount > 0)
        {
            decision = Count(policy, "acct:" + accountKey, policy.PerAccount, now);
        }

        return new(decision);
    }

    public ValueTask RecordFailureAsync(ThrottledAction action, string accountKey, CancellationToken cancellationToken)
    {
        var policy = _limits.Policy(action);
        var now = clock.GetUtcNow();
        var failures = _failures.GetOrAdd((policy.Name, accountKey), static _ => new AccountFailures());
        lock (failures)
        {
            // Failures long ago do not count against a new try.
            if (now - failures.LastFailure > policy.MaximumBackoff)
            {
                failures.Count = 0;
            }

            failures.Count++;
            failures.LastFailure = now;
            failures.ForgetAfter = now + policy.MaximumBackoff;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask RecordSuccessAsync(ThrottledAction action, string accountKey, CancellationToken cancellationToken)
    {
        _failures.TryRemove((_limits.Policy(action).Name, accountKey), out _);
        return ValueTask.CompletedTask;
    }

    private ThrottleDecision Count(ThrottlePolicy policy, string key, int budget, DateTimeOffset now)
    {
        var window = _windows.GetOrAdd((policy.Name, key), static _ => new FixedWindow());
        lock (window)
        {
            if (now >= window.End)
            {
                window.End = now + policy.Window;
                window.Count = 0;
            }

            if (window.Count >= budget)
            {
                return ThrottleDecision.Wait(window.End - now);
            }

            window.Count++;
            return ThrottleDecision.Allow;
        }
    }

    private void SweepOccasionally(DateTimeOffset now)
    {
        var last = Interlocked.Read(ref _lastSweepTicks);
        if (now.UtcTicks - last < SweepInterval.Ticks || Interlocked.CompareExchange(ref _lastSweepTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        foreach (var (key, window) in _windows)
        {
            if (now >= window.End)
            {
                _windows.TryRemove(new KeyValuePair<(string, string), FixedWindow>(key, window));
            }
        }

        foreach (var (key, failures) in _failures)
        {
            if (now > failures.ForgetAfter)
            {
                _failures.TryRemove(new KeyValuePair<(string, string), AccountFailures>(key, failures));
            }
        }
    }

    private sealed class FixedWindow
    {
        public DateTimeOffset End { get; set; } = DateTimeOffset.MinValue;

        public int Count { get; set; }
    }

    private sealed class AccountFailures
    {
        public int Count { get; set; }

        public DateTimeOffset LastFailure { get; set; }

        public DateTimeOffset ForgetAfter { get; set; }

        public DateTimeOffset? BlockedUntil(DateTimeOffset now, ThrottlePolicy policy)
        {
            int count;
            DateTimeOffset last;
            lock (this)
            {
                count = Count;
                last = LastFailure;
            }

            return policy.BlockedUntil(count, last, now);
        }
    }
}
