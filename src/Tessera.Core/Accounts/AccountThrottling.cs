using Tessera.Core.Throttling;

namespace Tessera.Core.Accounts;

internal static class AccountThrottling
{
    /// <summary>Counts an attempt at <paramref name="action"/>; over budget, 429 <c>rate_limited</c> with the wait.</summary>
    public static async Task ThrottleAsync(
        this IThrottle throttle, ThrottledAction action, string? ipAddress, string accountKey, CancellationToken cancellationToken)
    {
        var decision = await throttle.TryAttemptAsync(action, ipAddress ?? "unknown", accountKey, cancellationToken).ConfigureAwait(false);
        if (decision.Allowed)
        {
            return;
        }

        throw TesseraException.RateLimited(decision.RetryAfter);
    }
}
