namespace Tessera.Core.Throttling;

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
