using Microsoft.Extensions.Options;

namespace Tessera.Core.Options;

/// <summary>Fails start-up with a clear message for settings that cannot work.</summary>
public sealed class TesseraOptionsValidator : IValidateOptions<TesseraOptions>
{
    public ValidateOptionsResult Validate(string? name, TesseraOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var sessions = options.Sessions;
        if (sessions.IdleTimeout <= TimeSpan.Zero)
        {
            failures.Add("Tessera:Sessions:IdleTimeout must be positive.");
        }

        if (sessions.AbsoluteLifetime <= TimeSpan.Zero)
        {
            failures.Add("Tessera:Sessions:AbsoluteLifetime must be positive.");
        }

        if (sessions.ActivityFlushInterval <= TimeSpan.Zero)
        {
            failures.Add("Tessera:Sessions:ActivityFlushInterval must be positive.");
        }

        if (sessions.RetainEndedFor < TimeSpan.Zero)
        {
            failures.Add("Tessera:Sessions:RetainEndedFor cannot be negative (zero keeps ended sessions forever).");
        }

        if (sessions.MaxEventStreamsPerSession < 1 || sessions.MaxEventStreamsPerUser < sessions.MaxEventStreamsPerSession)
        {
            failures.Add("Tessera:Sessions:MaxEventStreamsPerSession must be at least 1 and no more than MaxEventStreamsPerUser.");
        }

        if (sessions.CacheCapacity < 0)
        {
            failures.Add("Tessera:Sessions:CacheCapacity cannot be negative.");
        }

        if (options.Passwords.MinimumLength < 1 || options.Passwords.MaximumLength < options.Passwords.MinimumLength)
        {
            failures.Add("Tessera:Passwords:MinimumLength must be at least 1 and no more than MaximumLength.");
        }

        if (options.Passwords.MaximumLength < 64)
        {
            failures.Add("Tessera:Passwords:MaximumLength must be at least 64 (NIST SP 800-63B: long passphrases must fit).");
        }

        if (options.Passwords.MinimumScore is < 0 or > 4)
        {
            failures.Add("Tessera:Passwords:MinimumScore is a zxcvbn score: 0 to 4.");
        }

        if (options.Passwords.HashIterations < 1)
        {
            failures.Add("Tessera:Passwords:HashIterations must be at least 1.");
        }

        var limits = options.RateLimiting;
        foreach (var (setting, value) in new[]
        {
            (nameof(limits.LoginPerIpPerMinute), limits.LoginPerIpPerMinute),
            (nameof(limits.FailedLoginsBeforeBackoff), limits.FailedLoginsBeforeBackoff),
            (nameof(limits.PasswordChangesPerIpPerMinute), limits.PasswordChangesPerIpPerMinute),
            (nameof(limits.FailedPasswordChangesBeforeBackoff), limits.FailedPasswordChangesBeforeBackoff),
            (nameof(limits.RegistrationsPerIpPerHour), limits.RegistrationsPerIpPerHour),
            (nameof(limits.RegistrationsPerEmailPerHour), limits.RegistrationsPerEmailPerHour),
            (nameof(limits.ResetRequestsPerIpPerHour), limits.ResetRequestsPerIpPerHour),
            (nameof(limits.ResetRequestsPerEmailPerHour), limits.ResetRequestsPerEmailPerHour),
            (nameof(limits.FailedClientAuthenticationsBeforeBackoff), limits.FailedClientAuthenticationsBeforeBackoff),
        })
        {
            if (value < 1)
            {
                failures.Add($"Tessera:RateLimiting:{setting} must be at least 1.");
            }
        }

        if (limits.MaximumBackoff <= TimeSpan.Zero)
        {
            failures.Add("Tessera:RateLimiting:MaximumBackoff must be positive.");
        }

        if (options.Admin.RecentSignIn <= TimeSpan.Zero)
        {
            failures.Add("Tessera:Admin:RecentSignIn must be positive.");
        }

        if (options.Clients.RotationOverlap < TimeSpan.Zero)
        {
            failures.Add("Tessera:Clients:RotationOverlap cannot be negative (zero ends the previous secret at once).");
        }

        var clients = options.Clients;
        if (clients.RevocationLease <= TimeSpan.Zero || clients.RevocationLease > TimeSpan.FromMinutes(1))
        {
            failures.Add("Tessera:Clients:RevocationLease must be positive and at most 00:01:00 (a revoking call may wait that long for a silent app).");
        }

        if (clients.RevocationHeartbeat <= TimeSpan.Zero || clients.RevocationHeartbeat * 3 > clients.RevocationLease)
        {
            failures.Add("Tessera:Clients:RevocationHeartbeat must be positive and at most a third of Tessera:Clients:RevocationLease, so that an app keeps its lease over two lost heartbeats.");
        }

        if (clients.MaxRevocationStreamsPerClient < 1)
        {
            failures.Add("Tessera:Clients:MaxRevocationStreamsPerClient must be at least 1.");
        }

        var bootstrap = options.Bootstrap;
        if (string.IsNullOrWhiteSpace(bootstrap.AdminEmail) != string.IsNullOrWhiteSpace(bootstrap.AdminPassword))
        {
            failures.Add("Tessera:Bootstrap:AdminEmail and Tessera:Bootstrap:AdminPassword go together: set both or neither.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
