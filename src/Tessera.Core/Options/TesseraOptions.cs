using Microsoft.Extensions.Options;
using Tessera.Core.Throttling;

namespace Tessera.Core.Options;

/// <summary>Everything under the <c>Tessera</c> configuration section.</summary>
public sealed class TesseraOptions
{
    public const string SectionName = "Tessera";

    /// <summary>Where the embedded SQLite database and the outbox of sent messages live.</summary>
    public string DataDirectory { get; set; } = "./data";

    public StorageOptions Storage { get; set; } = new();

    public RedisOptions Redis { get; set; } = new();

    public SessionOptions Sessions { get; set; } = new();

    public PasswordOptions Passwords { get; set; } = new();

    public RateLimitingOptions RateLimiting { get; set; } = new();

    public BootstrapOptions Bootstrap { get; set; } = new();

    public AdminOptions Admin { get; set; } = new();

    public ForwardedHeadersSettings ForwardedHeaders { get; set; } = new();
}

public sealed class StorageOptions
{
    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>Provider connection string; for SQLite, defaults to a file in the data directory.</summary>
    public string? ConnectionString { get; set; }
}

public sealed class RedisOptions
{
    /// <summary>StackExchange.Redis configuration string; set it to run several nodes.</summary>
    public string? Configuration { get; set; }
}

public sealed class SessionOptions
{
    /// <summary>A session unused this long expires (sliding).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromDays(7);

    /// <summary>No session lives longer than this, however active.</summary>
    public TimeSpan AbsoluteLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often in-memory last-active times are written to the store.</summary>
    public TimeSpan ActivityFlushInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How many sessions a node keeps in memory; beyond it, checks read through to the store.</summary>
    public int CacheCapacity { get; set; } = 200_000;

    /// <summary>
    /// How long a session that ended (revoked or expired) stays in the store before it is deleted; zero keeps them
    /// forever. The audit log keeps its own record of how each one ended.
    /// </summary>
    public TimeSpan RetainEndedFor { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Event streams (<c>/v1/events</c>) one session may hold open on a node at once.</summary>
    public int MaxEventStreamsPerSession { get; set; } = 10;

    /// <summary>Event streams one user may hold open on a node at once, over all their sessions.</summary>
    public int MaxEventStreamsPerUser { get; set; } = 50;

    /// <summary>Last-active moves in steps of at most a minute, finer when the idle timeout is short.</summary>
    public TimeSpan ActivityGranularity =>
        IdleTimeout / 20 < TimeSpan.FromMinutes(1) ? IdleTimeout / 20 : TimeSpan.FromMinutes(1);
}

public sealed class PasswordOptions
{
    public int MinimumLength { get; set; } = 8;

    /// <summary>NIST SP 800-63B asks to allow at least 64 characters.</summary>
    public int MaximumLength { get; set; } = 256;

    /// <summary>The lowest zxcvbn score (0–4) a new password needs; 2 keeps out what an online attacker tries first.</summary>
    public int MinimumScore { get; set; } = 2;

    /// <summary>PBKDF2 (HMAC-SHA512) iterations; the ASP.NET Core Identity default. Lower it only in tests.</summary>
    public int HashIterations { get; set; } = 100_000;

    public TimeSpan ResetTokenLifetime { get; set; } = TimeSpan.FromHours(1);
}

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

    /// <summary>The budgets of <paramref name="action"/>, from the settings above.</summary>
    public ThrottlePolicy Policy(ThrottledAction action) => action switch
    {
        ThrottledAction.Login => new("logins", TimeSpan.FromMinutes(1), LoginPerIpPerMinute, 0, FailedLoginsBeforeBackoff, MaximumBackoff),
        ThrottledAction.PasswordChange => new("password-changes", TimeSpan.FromMinutes(1), PasswordChangesPerIpPerMinute, 0,
            FailedPasswordChangesBeforeBackoff, MaximumBackoff),
        ThrottledAction.Registration => new("registrations", TimeSpan.FromHours(1), RegistrationsPerIpPerHour, RegistrationsPerEmailPerHour, 0, MaximumBackoff),
        ThrottledAction.PasswordResetRequest => new("reset-requests", TimeSpan.FromHours(1), ResetRequestsPerIpPerHour, ResetRequestsPerEmailPerHour, 0,
            MaximumBackoff),
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };
}

public sealed class AdminOptions
{
    /// <summary>
    /// Deactivating, banning or deleting another admin needs a session signed in (with the password) at most this long
    /// ago, so that a stolen or forgotten admin session cannot lock the other admins out.
    /// </summary>
    public TimeSpan RecentSignIn { get; set; } = TimeSpan.FromMinutes(15);
}

public sealed class BootstrapOptions
{
    /// <summary>Create this admin at start while the store has no admin at all (a deleted one counts).</summary>
    public string? AdminEmail { get; set; }

    public string? AdminPassword { get; set; }
}

/// <summary>Fails start-up with a clear message for settings that cannot work.</summary>
/// <summary>
/// Which reverse proxies or load balancers may tell Tessera the client's address and scheme (<c>X-Forwarded-For</c>,
/// <c>X-Forwarded-Proto</c>). Empty (the default): the socket's peer is the client, and those headers are ignored, so
/// that no client can choose its own address for throttling, the session list and the audit log.
/// </summary>
public sealed class ForwardedHeadersSettings
{
    /// <summary>Addresses (<c>10.0.0.5</c>) or networks (<c>10.0.0.0/8</c>) of the proxies in front of this node.</summary>
    public IList<string> TrustedProxies { get; } = [];
}

public sealed class TesseraOptionsValidator : IValidateOptions<TesseraOptions>
{
    public ValidateOptionsResult Validate(string? name, TesseraOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add("Tessera:DataDirectory must name a directory.");
        }

        if (options.Storage.Provider is not ("sqlite" or "postgres"))
        {
            failures.Add($"Tessera:Storage:Provider must be 'sqlite' or 'postgres', not '{options.Storage.Provider}'.");
        }
        else if (options.Storage.Provider == "postgres" && string.IsNullOrWhiteSpace(options.Storage.ConnectionString))
        {
            failures.Add("Tessera:Storage:ConnectionString is required when Tessera:Storage:Provider is 'postgres'.");
        }

        foreach (var proxy in options.ForwardedHeaders.TrustedProxies)
        {
            if (!System.Net.IPNetwork.TryParse(proxy, out _) && !System.Net.IPAddress.TryParse(proxy, out _))
            {
                failures.Add($"Tessera:ForwardedHeaders:TrustedProxies: '{proxy}' is neither an IP address nor a network such as 10.0.0.0/8.");
            }
        }

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

        var bootstrap = options.Bootstrap;
        if (string.IsNullOrWhiteSpace(bootstrap.AdminEmail) != string.IsNullOrWhiteSpace(bootstrap.AdminPassword))
        {
            failures.Add("Tessera:Bootstrap:AdminEmail and Tessera:Bootstrap:AdminPassword go together: set both or neither.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
