using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Tessera.Core.Storage;
using Tessera.Core.Throttling;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>
/// The way into a fresh install started without bootstrap settings, as Keycloak and Grafana offer it: while no admin
/// exists, the first-run page creates one. A person at the machine itself (a loopback address) needs nothing more; anyone
/// else needs the one-time code this node writes to its log at start. Once any admin exists it is gone for good.
/// </summary>
public sealed partial class FirstAdminSetup(ITesseraStore store, Registration registration, IThrottle throttle, ILogger<FirstAdminSetup> logger)
{
    public const string Path = "/setup";

    // Without 0/O and 1/I/L, so that it can be read off a log and typed: 12 of 31 symbols, about 59 bits from the CSPRNG.
    private const string CodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    private const int CodeLength = 12;

    // Wrong codes count against one key, shared by every client (and every node, with Redis): each retry after a few
    // failures waits longer, as a login does.
    private const string ThrottleKey = "first-admin-setup";

    private volatile bool _closed;
    private volatile string? _code;

    /// <summary>Whether the first-run page is there: no admin exists yet. Once false, false for the life of the process.</summary>
    public async Task<bool> IsOpenAsync(CancellationToken cancellationToken)
    {
        if (_closed)
        {
            return false;
        }

        bool anyAdmin;
        await using (var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false))
        {
            anyAdmin = await read.Users.AnyAdminAsync(cancellationToken).ConfigureAwait(false);
        }

        if (anyAdmin)
        {
            Close();
        }

        return !anyAdmin;
    }

    /// <summary>At start: with no admin yet, makes this node's one-time code and writes where to go to the log.</summary>
    public async Task AnnounceAsync(CancellationToken cancellationToken)
    {
        if (!await IsOpenAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var code = RandomNumberGenerator.GetString(CodeAlphabet, CodeLength);
        _code = code;
        LogOpen(logger, Path, $"{code[..4]}-{code[4..8]}-{code[8..]}");
    }

    /// <summary>
    /// Whether this client may use the page: from a loopback address always, else only with this node's code (compared
    /// in constant time, and throttled: a refusal for too many tries is a <c>rate_limited</c> exception).
    /// </summary>
    public async Task<bool> AdmitsAsync(bool fromLoopback, string? code, string clientIp, CancellationToken cancellationToken)
    {
        if (fromLoopback)
        {
            return true;
        }

        var decision = await throttle.TryAttemptAsync(ThrottledAction.Login, clientIp, ThrottleKey, cancellationToken).ConfigureAwait(false);
        if (!decision.Allowed)
        {
            throw TesseraException.RateLimited(decision.RetryAfter);
        }

        if (Matches(code))
        {
            return true;
        }

        await throttle.RecordFailureAsync(ThrottledAction.Login, ThrottleKey, cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Creates the first admin through the ordinary registration (password rules, <c>user.registered</c>), for a client
    /// that <see cref="AdmitsAsync"/> let in. Refused with <c>not_found</c> when an admin exists, even one made a moment ago.
    /// </summary>
    public async Task<User> CreateAdminAsync(string? email, string? password, string? displayName, string? ipAddress, CancellationToken cancellationToken)
    {
        if (!await IsOpenAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new TesseraException(ErrorCodes.NotFound, "An administrator already exists: sign in instead.");
        }

        try
        {
            var admin = await registration.RegisterFirstAdminAsync(email, password, displayName, ipAddress, cancellationToken).ConfigureAwait(false);
            LogCreated(logger, admin.Email);
            return admin;
        }
        finally
        {
            // Whoever won, an admin may exist now: the page and its code end with it.
            await IsOpenAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private bool Matches(string? typed)
    {
        var code = _code;
        if (code is null || string.IsNullOrEmpty(typed))
        {
            return false;
        }

        // Dashes, spaces and case as the person likes; then every character is compared, whatever the first wrong one.
        var normalized = new string([.. typed.Where(char.IsLetterOrDigit).Select(char.ToUpperInvariant)]);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(normalized), Encoding.ASCII.GetBytes(code));
    }

    private void Close()
    {
        _closed = true;
        _code = null;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No administrator yet. Create the first one at {Path} on this server: from this machine as it is, from anywhere else with the one-time code {Code}. The page is gone once an admin exists.")]
    private static partial void LogOpen(ILogger logger, string path, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created the first administrator {Email} from the first-run page; the page is gone for good.")]
    private static partial void LogCreated(ILogger logger, string email);
}
