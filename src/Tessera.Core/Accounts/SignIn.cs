using Microsoft.Extensions.Options;
using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.Devices;
using Tessera.Core.Diagnostics;
using Tessera.Core.Options;
using Tessera.Core.Security;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Throttling;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>
/// A person signing in with their email and password: a new session on their device. Directly, or through a service client's
/// own sign-in form, in which case the request carries the visitor's address and user agent (the throttle counts that
/// address) and the session records the client.
/// </summary>
public sealed class SignIn(
    ITesseraStore store,
    AccessChanges changes,
    IPasswordHasher hasher,
    IThrottle throttle,
    DeviceResolver devices,
    TesseraMetrics metrics,
    TimeProvider clock,
    IOptions<TesseraOptions> options)
{
    private readonly TesseraOptions _options = options.Value;

    // Verifying against this when the email is unknown makes both failures take the same time.
    private readonly Lazy<string> _decoyHash = new(() => hasher.Hash(Guid.NewGuid().ToString()));

    public async Task<LoginResult> LoginAsync(LoginRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Email) || string.IsNullOrEmpty(request.Password))
        {
            throw TesseraException.Validation(string.IsNullOrWhiteSpace(request.Email) ? "email" : "password", "Email and password are required.");
        }

        var email = User.NormalizeEmail(request.Email);
        var device = devices.Resolve(request.Device, request.UserAgent);
        await ThrottleAsync(request.IpAddress, email, cancellationToken).ConfigureAwait(false);

        User? user;
        await using (var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false))
        {
            user = await read.Users.FindByEmailAsync(email, cancellationToken).ConfigureAwait(false);
        }

        var check = hasher.Verify(user?.PasswordHash ?? _decoyHash.Value, request.Password);
        if (user?.PasswordHash is null || check == PasswordCheck.Failed)
        {
            await FailLoginAsync(user, email, request.IpAddress, cancellationToken).ConfigureAwait(false);

            // Don't reveal whether the email exists: one code, one message.
            throw new TesseraException(ErrorCodes.InvalidCredentials, "Wrong email or password.");
        }

        await throttle.RecordSuccessAsync(ThrottledAction.Login, email, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        SignInRule.ThrowIfCannotSignIn(user, now);

        var (session, token) = Session.Begin(user.Id, device, request.IpAddress, request.ClientId, now, _options.Sessions.AbsoluteLifetime, clock);
        var rehash = check == PasswordCheck.SuccessRehashNeeded ? hasher.Hash(request.Password) : null;
        user = await changes.ApplyAsync(
            async change =>
            {
                // Read again inside the write: a ban or deactivation committed since the first read must win.
                var current = await change.Transaction.Users.FindByIdAsync(user.Id, cancellationToken).ConfigureAwait(false);

                // The password was checked against the row read before this transaction. A change or reset committed
                // since then has ended every session that existed; a session made with the old password must not
                // slip in after it.
                if (current is null || current.PasswordHash != user.PasswordHash)
                {
                    throw new TesseraException(ErrorCodes.InvalidCredentials, "Wrong email or password.");
                }

                SignInRule.ThrowIfCannotSignIn(current, change.Now);
                if (rehash is not null)
                {
                    current = current with { PasswordHash = rehash, UpdatedAt = change.Now };
                    await change.Transaction.Users.UpdateAsync(current, cancellationToken).ConfigureAwait(false);
                }

                await change.Transaction.Sessions.InsertAsync(session, cancellationToken).ConfigureAwait(false);
                change.Audit(AuditActions.SessionCreated, new Actor(ActorKind.User, current.Id), current.Id, request.IpAddress,
                    sessionIds: [session.Id]);
                return current;
            },
            cancellationToken).ConfigureAwait(false);
        return new LoginResult(token, session, user);
    }

    /// <summary>Counts a sign-in attempt; over budget, 429 <c>rate_limited</c> with the wait.</summary>
    private async Task ThrottleAsync(string? ipAddress, string email, CancellationToken cancellationToken)
    {
        var decision = await throttle.TryAttemptAsync(ThrottledAction.Login, ipAddress ?? "unknown", email, cancellationToken).ConfigureAwait(false);
        if (decision.Allowed)
        {
            return;
        }

        metrics.LoginThrottled();
        throw TesseraException.RateLimited(decision.RetryAfter);
    }

    private async Task FailLoginAsync(User? user, string email, string? ipAddress, CancellationToken cancellationToken)
    {
        metrics.LoginFailed();
        await throttle.RecordFailureAsync(ThrottledAction.Login, email, cancellationToken).ConfigureAwait(false);

        // Written for unknown emails too (with no target): the trail shows password spraying, and both failures
        // do the same work, so the answer's timing does not tell whether the email exists.
        await changes.ApplyAsync(
            change =>
            {
                change.Audit(AuditActions.LoginFailed, new Actor(ActorKind.User, null), user?.Id, ipAddress, "invalid_credentials");
                return Task.FromResult(0);
            },
            cancellationToken).ConfigureAwait(false);
    }
}
