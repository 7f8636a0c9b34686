using Tessera.Core.Access;
using Tessera.Core.Audit;
using Tessera.Core.Security;
using Tessera.Core.Throttling;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>New accounts: a person registering, the first administrator of a fresh install, and the configured bootstrap admin.</summary>
public sealed class Registration(
    AccessChanges changes,
    IPasswordHasher hasher,
    PasswordPolicy passwordPolicy,
    IThrottle throttle,
    TimeProvider clock)
{
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
        var normalizedEmail = AccountInput.ValidateEmail(email);
        var name = AccountInput.ValidateDisplayName(displayName) ?? normalizedEmail[..normalizedEmail.IndexOf('@', StringComparison.Ordinal)];

        // Before the strength check, the slow hash and the write, counted per address and per email.
        await throttle.ThrottleAsync(ThrottledAction.Registration, ipAddress, normalizedEmail, cancellationToken).ConfigureAwait(false);
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

                change.Audit(AuditActions.UserRegistered, actor, user.Id, ipAddress);
                return user;
            },
            cancellationToken);
}
