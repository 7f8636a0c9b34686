namespace Tessera.Core.Throttling;

/// <summary>
/// The budgets of one <see cref="ThrottledAction"/>: attempts per client address and per account in a fixed window, and,
/// for paths that check a password, an exponential backoff of the account after repeated failures. Zero turns a
/// per-address or per-account budget or the backoff off.
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
