using System.Net.Mail;
using Microsoft.Extensions.Options;
using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.Caching;
using Tessera.Core.Devices;
using Tessera.Core.Diagnostics;
using Tessera.Core.Notifications;
using Tessera.Core.Options;
using Tessera.Core.Security;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Throttling;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

public sealed record LoginRequest(string? Email, string? Password, DeviceDescription? Device, string? UserAgent, string? IpAddress);

/// <summary>A new session. <see cref="Token"/> is the only copy of the secret; Tessera keeps its hash.</summary>
public sealed record LoginResult(string Token, Session Session, User User);

/// <summary>What a person does with their own account: register, sign in and out, change or reset the password.</summary>
public sealed class AccountService(
    ITesseraStore store,
    AccessChanges changes,
    IPasswordHasher hasher,
    PasswordPolicy passwordPolicy,
    IThrottle throttle,
    DeviceResolver devices,
    IPasswordResetSender resetSender,
    PendingPasswordResets pendingResets,
    TesseraMetrics metrics,
    TimeProvider clock,
    IOptions<TesseraOptions> options)
{
    public const int MaxEmailLength = 254;
    public const int MaxDisplayNameLength = 100;

    private readonly TesseraOptions _options = options.Value;

    // Verifying against this when the email is unknown makes both failures take the same time.
    private readonly Lazy<string> _decoyHash = new(() => hasher.Hash(Guid.NewGuid().ToString()));

    public async Task<User> RegisterAsync(string? email, string? password, string? displayName, string? ipAddress, CancellationToken cancellationToken)
    {
        var user = await NewUserAsync(email, password, displayName, UserRole.User, ipAddress, cancellationToken).ConfigureAwait(false);
        return await CreateUserAsync(user, new Actor(ActorKind.User, user.Id), ipAddress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The first administrator of a fresh install (the first-run page): the same rules and the same <c>user.registered</c>
    /// event as any registration, refused with <c>not_found</c> once any admin exists, which is asked in the same
    /// transaction as the insert, so that two people on the page at once do not both become the first.
    /// </summary>
    public async Task<User> RegisterFirstAdminAsync(string? email, string? password, string? displayName, string? ipAddress, CancellationToken cancellationToken)
    {
        var user = await NewUserAsync(email, password, displayName, UserRole.Admin, ipAddress, cancellationToken).ConfigureAwait(false);
        return await InsertUserAsync(user, new Actor(ActorKind.User, user.Id), ipAddress, onlyAsFirstAdmin: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a user (registration or bootstrap) with its <c>user.registered</c> event.</summary>
    public Task<User> CreateUserAsync(User user, Actor actor, string? ipAddress, CancellationToken cancellationToken) =>
        InsertUserAsync(user, actor, ipAddress, onlyAsFirstAdmin: false, cancellationToken);

    /// <summary>A user from what a person typed, once the address and the email are within their registration budgets.</summary>
    private async Task<User> NewUserAsync(
        string? email, string? password, string? displayName, UserRole role, string? ipAddress, CancellationToken cancellationToken)
    {
        var normalizedEmail = ValidateEmail(email);
        var name = ValidateDisplayName(displayName) ?? normalizedEmail[..normalizedEmail.IndexOf('@', StringComparison.Ordinal)];

        // Before the strength check, the slow hash and the write, counted per address and per email.
        await ThrottleAsync(ThrottledAction.Registration, ipAddress, normalizedEmail, cancellationToken).ConfigureAwait(false);
        passwordPolicy.Check(password, "password", normalizedEmail, name);
        var now = clock.GetUtcNow();
        return new User
        {
            Id = Ids.NewUserId(clock),
            Email = normalizedEmail,
            DisplayName = name,
            PasswordHash = hasher.Hash(password!),
            Role = role,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    private Task<User> InsertUserAsync(User user, Actor actor, string? ipAddress, bool onlyAsFirstAdmin, CancellationToken cancellationToken) =>
        changes.ApplyAsync(
            async change =>
            {
                if (onlyAsFirstAdmin && await change.Transaction.Users.AnyAdminAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new TesseraException(ErrorCodes.NotFound, "An administrator already exists: sign in instead.");
                }

                if (!await change.Transaction.Users.InsertAsync(user, cancellationToken).ConfigureAwait(false))
                {
                    throw new TesseraException(ErrorCodes.EmailTaken, "An account with this email already exists.");
                }

                await change.AuditAsync(AuditActions.UserRegistered, actor, user.Id, ipAddress, cancellationToken: cancellationToken).ConfigureAwait(false);
                return user;
            },
            cancellationToken);

    public async Task<LoginResult> LoginAsync(LoginRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Email) || string.IsNullOrEmpty(request.Password))
        {
            throw TesseraException.Validation(string.IsNullOrWhiteSpace(request.Email) ? "email" : "password", "Email and password are required.");
        }

        var email = User.NormalizeEmail(request.Email);
        var device = devices.Resolve(request.Device, request.UserAgent);
        await ThrottleAsync(ThrottledAction.Login, request.IpAddress, email, cancellationToken).ConfigureAwait(false);

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
        ThrowIfCannotSignIn(user, now);

        var token = SecretTokens.Create(out var tokenHash);
        var session = new Session
        {
            Id = Ids.NewSessionId(clock),
            TokenHash = tokenHash,
            UserId = user.Id,
            Device = device,
            IpAddress = request.IpAddress,
            CreatedAt = now,
            LastActiveAt = now,
            AbsoluteExpiresAt = now + _options.Sessions.AbsoluteLifetime,
        };
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

                ThrowIfCannotSignIn(current, change.Now);
                if (rehash is not null)
                {
                    current = current with { PasswordHash = rehash, UpdatedAt = change.Now };
                    await change.Transaction.Users.UpdateAsync(current, cancellationToken).ConfigureAwait(false);
                }

                await change.Transaction.Sessions.InsertAsync(session, cancellationToken).ConfigureAwait(false);
                await change.AuditAsync(AuditActions.SessionCreated, new Actor(ActorKind.User, current.Id), current.Id, request.IpAddress,
                    sessionIds: [session.Id], cancellationToken: cancellationToken).ConfigureAwait(false);
                return current;
            },
            cancellationToken).ConfigureAwait(false);
        return new LoginResult(token, session, user);
    }

    public Task LogoutAsync(CachedSession current, string? ipAddress, CancellationToken cancellationToken) =>
        changes.ApplyAsync(
            change => change.RevokeSessionsAsync(current.Session.UserId, RevocationScope.Only(current.Session.Id), RevocationReason.SignedOut,
                new Actor(ActorKind.User, current.Session.UserId), ipAddress, cancellationToken),
            cancellationToken);

    /// <summary>Changes the password and ends every other session of the user; the current one stays.</summary>
    public async Task ChangePasswordAsync(CachedSession current, string? currentPassword, string? newPassword, string? ipAddress, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(currentPassword))
        {
            throw TesseraException.Validation("currentPassword", "The current password is required.");
        }

        var userId = current.Session.UserId;
        passwordPolicy.Check(newPassword, "newPassword", current.User.User.Email, current.User.User.DisplayName);
        await ThrottleAsync(ThrottledAction.PasswordChange, ipAddress, userId, cancellationToken).ConfigureAwait(false);

        // The stored hash, not the cached user's: an entry from the shared cache in Redis carries no hash at all.
        User user;
        await using (var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false))
        {
            user = await read.Users.FindByIdAsync(userId, cancellationToken).ConfigureAwait(false) ?? throw TesseraException.NotFound("The user");
        }

        if (hasher.Verify(user.PasswordHash ?? _decoyHash.Value, currentPassword) == PasswordCheck.Failed || user.PasswordHash is null)
        {
            await throttle.RecordFailureAsync(ThrottledAction.PasswordChange, userId, cancellationToken).ConfigureAwait(false);
            throw new TesseraException(ErrorCodes.WrongPassword, "The current password is wrong.");
        }

        await throttle.RecordSuccessAsync(ThrottledAction.PasswordChange, userId, cancellationToken).ConfigureAwait(false);

        var newHash = hasher.Hash(newPassword!);
        var actor = new Actor(ActorKind.User, userId);
        await changes.ApplyAsync(
            async change =>
            {
                var fresh = await change.Transaction.Users.FindByIdAsync(userId, cancellationToken).ConfigureAwait(false)
                    ?? throw TesseraException.NotFound("The user");
                if (fresh.PasswordHash != user.PasswordHash)
                {
                    // Changed by another request since this one checked the current password.
                    throw new TesseraException(ErrorCodes.WrongPassword, "The current password is wrong.");
                }

                await SetPasswordAsync(change, fresh, newHash, cancellationToken).ConfigureAwait(false);
                var revoked = await change.RevokeSessionsAsync(userId, RevocationScope.AllExcept(current.Session.Id), RevocationReason.PasswordChanged,
                    actor, ipAddress, cancellationToken).ConfigureAwait(false);
                await change.AuditAsync(AuditActions.PasswordChanged, actor, userId, ipAddress, sessionIds: revoked, cancellationToken: cancellationToken)
                    .ConfigureAwait(false);
                return revoked.Count;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes the name the person is shown by. It grants or takes no access, so no session ends; the user's cached entry
    /// is dropped everywhere all the same, so that every page and node shows the new name on the next request.
    /// </summary>
    public Task<User> ChangeDisplayNameAsync(CachedSession current, string? displayName, CancellationToken cancellationToken)
    {
        var name = ValidateDisplayName(displayName) ?? throw TesseraException.Validation("displayName", "Enter a display name.");
        var userId = current.Session.UserId;
        return changes.ApplyAsync(
            async change =>
            {
                var fresh = await change.Transaction.Users.FindByIdAsync(userId, cancellationToken).ConfigureAwait(false)
                    ?? throw TesseraException.NotFound("The user");
                var renamed = fresh with { DisplayName = name, UpdatedAt = change.Now };
                await change.Transaction.Users.UpdateAsync(renamed, cancellationToken).ConfigureAwait(false);
                change.UserChanged(userId);
                return renamed;
            },
            cancellationToken);
    }

    /// <summary>
    /// Accepts a reset request and says nothing about the email: the same checks and the same work whether or not it
    /// belongs to an account. The lookup and the message happen after the answer (<see cref="PendingPasswordResets"/>).
    /// </summary>
    public async Task RequestPasswordResetAsync(string? email, string? ipAddress, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(email) || email.Length > MaxEmailLength)
        {
            throw TesseraException.Validation("email", "An email address is required.");
        }

        var normalizedEmail = User.NormalizeEmail(email);
        await ThrottleAsync(ThrottledAction.PasswordResetRequest, ipAddress, normalizedEmail, cancellationToken).ConfigureAwait(false);
        pendingResets.Enqueue(new AcceptedResetRequest(normalizedEmail, ipAddress));
    }

    /// <summary>
    /// Sends a reset token when the email belongs to a live account. The new token ends every older one of the user in
    /// the same transaction: only the newest message works.
    /// </summary>
    public async Task SendPasswordResetAsync(AcceptedResetRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        User? user;
        await using (var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false))
        {
            user = await read.Users.FindByEmailAsync(request.NormalizedEmail, cancellationToken).ConfigureAwait(false);
        }

        if (user is null || user.Status == UserStatus.Deleted)
        {
            return;
        }

        var token = SecretTokens.Create(out var tokenHash);
        var now = clock.GetUtcNow();
        var expiresAt = now + _options.Passwords.ResetTokenLifetime;
        await using (var write = await store.BeginWriteAsync(cancellationToken).ConfigureAwait(false))
        {
            await write.PasswordResetTokens.InsertAsync(new PasswordResetToken(tokenHash, user.Id, now, expiresAt, null), cancellationToken).ConfigureAwait(false);
            await write.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        await resetSender.SendAsync(new PasswordResetMessage(user.Email, user.DisplayName, token, expiresAt), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets a new password with a reset token and ends every session of the user.</summary>
    public async Task ResetPasswordAsync(string? token, string? newPassword, string? ipAddress, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token))
        {
            throw TesseraException.Validation("token", "The reset token is required.");
        }

        if (!SecretTokens.TryHash(token, out var tokenHash))
        {
            throw new TesseraException(ErrorCodes.InvalidResetToken, "The reset token is invalid or has expired.");
        }

        // Checked before the slow hash without knowing whose token it is, then again with their email and name.
        passwordPolicy.Check(newPassword, "newPassword");
        var newHash = hasher.Hash(newPassword!);
        await changes.ApplyAsync(
            async change =>
            {
                var reset = await change.Transaction.PasswordResetTokens.ConsumeAsync(tokenHash, change.Now, cancellationToken).ConfigureAwait(false);
                var user = reset is null ? null : await change.Transaction.Users.FindByIdAsync(reset.UserId, cancellationToken).ConfigureAwait(false);
                if (user is null || user.Status == UserStatus.Deleted)
                {
                    throw new TesseraException(ErrorCodes.InvalidResetToken, "The reset token is invalid or has expired.");
                }

                passwordPolicy.Check(newPassword, "newPassword", user.Email, user.DisplayName);
                var actor = new Actor(ActorKind.User, user.Id);
                await SetPasswordAsync(change, user, newHash, cancellationToken).ConfigureAwait(false);
                var revoked = await change.RevokeSessionsAsync(user.Id, RevocationScope.All, RevocationReason.PasswordReset, actor, ipAddress, cancellationToken)
                    .ConfigureAwait(false);
                await change.AuditAsync(AuditActions.PasswordReset, actor, user.Id, ipAddress, sessionIds: revoked, cancellationToken: cancellationToken)
                    .ConfigureAwait(false);
                return revoked.Count;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets the new hash and, in the same transaction, ends every reset token sent before it.</summary>
    private static async Task SetPasswordAsync(AccessChange change, User user, string newHash, CancellationToken cancellationToken)
    {
        await change.Transaction.Users.UpdateAsync(
            user with { PasswordHash = newHash, SecurityVersion = user.SecurityVersion + 1, UpdatedAt = change.Now },
            cancellationToken).ConfigureAwait(false);
        await change.Transaction.PasswordResetTokens.InvalidateAllAsync(user.Id, change.Now, cancellationToken).ConfigureAwait(false);
        change.UserChanged(user.Id);
    }

    /// <summary>Counts an attempt at <paramref name="action"/>; over budget, 429 <c>rate_limited</c> with the wait.</summary>
    private async Task ThrottleAsync(ThrottledAction action, string? ipAddress, string accountKey, CancellationToken cancellationToken)
    {
        var decision = await throttle.TryAttemptAsync(action, ipAddress ?? "unknown", accountKey, cancellationToken).ConfigureAwait(false);
        if (decision.Allowed)
        {
            return;
        }

        if (action == ThrottledAction.Login)
        {
            metrics.LoginThrottled();
        }

        throw TesseraException.RateLimited(decision.RetryAfter);
    }

    private async Task FailLoginAsync(User? user, string email, string? ipAddress, CancellationToken cancellationToken)
    {
        metrics.LoginFailed();
        await throttle.RecordFailureAsync(ThrottledAction.Login, email, cancellationToken).ConfigureAwait(false);

        // Written for unknown emails too (with no target): the trail shows password spraying, and both failures
        // do the same work, so the answer's timing does not tell whether the email exists.
        await changes.ApplyAsync(
            async change =>
            {
                await change.AuditAsync(AuditActions.LoginFailed, new Actor(ActorKind.User, null), user?.Id, ipAddress, "invalid_credentials",
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                return 0;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static void ThrowIfCannotSignIn(User user, DateTimeOffset now)
    {
        switch (user.Status)
        {
            case UserStatus.Deleted:
                throw new TesseraException(ErrorCodes.AccountDeleted, "This account has been deleted.");
            case UserStatus.Deactivated:
                throw new TesseraException(ErrorCodes.AccountDeactivated, "Your account has been deactivated.");
        }

        if (user.IsBannedAt(now))
        {
            var message = user.BannedUntil is { } until
                ? $"Your account is banned until {until.UtcDateTime:yyyy-MM-dd HH:mm} UTC."
                : "Your account is banned.";
            throw new TesseraException(ErrorCodes.AccountBanned, message, new Dictionary<string, object?> { ["bannedUntil"] = user.BannedUntil });
        }
    }

    private static string ValidateEmail(string? email)
    {
        if (string.IsNullOrWhiteSpace(email))
        {
            throw TesseraException.Validation("email", "An email address is required.");
        }

        var trimmed = email.Trim();
        if (trimmed.Length > MaxEmailLength
            || !MailAddress.TryCreate(trimmed, out var address)
            || address.Address != trimmed
            || address.Host.Length == 0
            || !address.Host.Contains('.', StringComparison.Ordinal))
        {
            throw TesseraException.Validation("email", "This is not a valid email address.");
        }

        return User.NormalizeEmail(trimmed);
    }

    private static string? ValidateDisplayName(string? displayName) =>
        ShownText.Check(displayName, "displayName", "The display name", MaxDisplayNameLength);
}
