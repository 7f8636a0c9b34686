using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tessera.Core.Options;

namespace Tessera.Core.Throttling;

/// <summary>Whether an attempt may go ahead, and if not, how long to wait.</summary>
public readonly record struct ThrottleDecision(bool Allowed, TimeSpan RetryAfter)
{
    public static readonly ThrottleDecision Allow = new(true, TimeSpan.Zero);

    public static ThrottleDecision Wait(TimeSpan retryAfter) => new(false, retryAfter);
}

/// <summary>The paths that check a credential or write for someone not yet signed in, each with its own budgets.</summary>
public enum ThrottledAction
{
    Login,
    PasswordChange,
    Registration,
    PasswordResetRequest,
}

/// <summary>
/// The budgets of one <see cref="ThrottledAction"/>: attempts per client address and per account in a fixed window, and,
/// for paths that check a password, an exponential backoff of the account after repeated failures. Zero turns a
/// per-account budget or the backoff off.
/// </summary>
/// <param name="Name">Names the counters (and the Redis keys) of this action.</param>
public sealed record ThrottlePolicy(string Name, TimeSpan Window, int PerAddress, int PerAccount, int FailuresBeforeBackoff, TimeSpan MaximumBackoff)
{
    /// <summary>Until when <paramref name="failures"/> failures, the last at <paramref name="lastFailure"/>, hold the account back: 1 s, 2 s, 4 s… after the allowed ones, capped.</summary>
    public DateTimeOffset? BlockedUntil(long failures, DateTimeOffset lastFailure, DateTimeOffset now)
    {
        var excess = failures - FailuresBeforeBackoff;
        if (FailuresBeforeBackoff <= 0 || excess < 0)
        {
            return null;
        }

        var backoff = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(excess, 20)));
        var until = lastFailure + (backoff < MaximumBackoff ? backoff : MaximumBackoff);
        return until > now ? until : null;
    }
}

/// <summary>
/// Throttles credential and write paths (<see cref="ThrottledAction"/>) per client address and per account, with the
/// budgets of each action's <see cref="ThrottlePolicy"/>. A cluster shares the counters (Redis) behind this port so
/// that a client cannot multiply its attempts by the number of nodes.
/// </summary>
public interface IThrottle
{
    /// <summary>
    /// Counts an attempt at <paramref name="action"/> from <paramref name="clientIp"/> (by its
    /// <see cref="ClientAddress.ThrottleKey"/>: an IPv6 client by its /64) for <paramref name="accountKey"/> and decides.
    /// </summary>
    ValueTask<ThrottleDecision> TryAttemptAsync(ThrottledAction action, string clientIp, string accountKey, CancellationToken cancellationToken);

    /// <summary>A wrong password for the account: counts towards its backoff.</summary>
    ValueTask RecordFailureAsync(ThrottledAction action, string accountKey, CancellationToken cancellationToken);

    /// <summary>The right password: clears the account's failures.</summary>
    ValueTask RecordSuccessAsync(ThrottledAction action, string accountKey, CancellationToken cancellationToken);
}

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

        var decision = Count(policy, "ip:" + ClientAddress.ThrottleKey(clientIp), policy.PerAddress, now);
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
