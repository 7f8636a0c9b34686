namespace Tessera.Core.Throttling;

/// <summary>Whether an attempt may go ahead, and if not, how long to wait.</summary>
public readonly record struct ThrottleDecision(bool Allowed, TimeSpan RetryAfter)
{
    public static readonly ThrottleDecision Allow = new(true, TimeSpan.Zero);

    public static ThrottleDecision Wait(TimeSpan retryAfter) => new(false, retryAfter);
}
