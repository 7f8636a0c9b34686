using Tessera.Core.Throttling;

namespace Tessera.Core.Options;

/// <summary>The budgets of the throttled actions (<c>Tessera:RateLimiting</c>).</summary>
public sealed class RateLimitingOptions
{
    /// <summary>Login attempts allowed per client IP per minute.</summary>
    public int LoginPerIpPerMinute { get; set; } = 60;

    /// <summary>Failed logins for one account before each further attempt must wait (1 s, 2 s, 4 s, …).</summary>
    public int FailedLoginsBeforeBackoff { get; set; } = 5;

    /// <summary>The longest wait the per-account backoff imposes (logins and password changes).</summary>
    public TimeSpan MaximumBackoff { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Password changes (each checks the current password) allowed per client IP per minute.</summary>
    public int PasswordChangesPerIpPerMinute { get; set; } = 30;

    /// <summary>Wrong current passwords for one account before each further change must wait (1 s, 2 s, 4 s, …).</summary>
    public int FailedPasswordChangesBeforeBackoff { get; set; } = 5;

    /// <summary>Registrations (each a slow hash and a write) allowed per client IP per hour.</summary>
    public int RegistrationsPerIpPerHour { get; set; } = 30;

    /// <summary>Registration attempts for one email address per hour.</summary>
    public int RegistrationsPerEmailPerHour { get; set; } = 5;

    /// <summary>Password reset requests allowed per client IP per hour.</summary>
    public int ResetRequestsPerIpPerHour { get; set; } = 30;

    /// <summary>Password reset requests for one email address per hour, known or not: each sends its owner a message.</summary>
    public int ResetRequestsPerEmailPerHour { get; set; } = 5;

    /// <summary>
    /// Failed service client authentications (a wrong secret, an unknown or disabled client) from one client address
    /// before each further attempt from it must wait (1 s, 2 s, 4 s, … up to <see cref="MaximumBackoff"/>).
    /// </summary>
    public int FailedClientAuthenticationsBeforeBackoff { get; set; } = 10;

    /// <summary>The budgets of <paramref name="action"/>, from the settings above.</summary>
    public ThrottlePolicy Policy(ThrottledAction action) => action switch
    {
        ThrottledAction.Login => new("logins", TimeSpan.FromMinutes(1), LoginPerIpPerMinute, 0, FailedLoginsBeforeBackoff, MaximumBackoff),
        ThrottledAction.PasswordChange => new("password-changes", TimeSpan.FromMinutes(1), PasswordChangesPerIpPerMinute, 0,
            FailedPasswordChangesBeforeBackoff, MaximumBackoff),
        ThrottledAction.Registration => new("registrations", TimeSpan.FromHours(1), RegistrationsPerIpPerHour, RegistrationsPerEmailPerHour, 0, MaximumBackoff),
        ThrottledAction.PasswordResetRequest => new("reset-requests", TimeSpan.FromHours(1), ResetRequestsPerIpPerHour, ResetRequestsPerEmailPerHour, 0,
            MaximumBackoff),
        // No budget of attempts: a relying app introspects on every request it serves. Only failures count, per address
        // (the "account" of this action is the client address), so that secrets cannot be guessed at speed.
        ThrottledAction.ClientAuthentication => new("client-authentications", TimeSpan.FromMinutes(1), 0, 0,
            FailedClientAuthenticationsBeforeBackoff, MaximumBackoff),
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };
}
