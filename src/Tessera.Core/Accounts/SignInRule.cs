using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>
/// Whether an account may get a new session, whatever the way in: the password (<see cref="SignIn"/>) and an OpenID Connect
/// provider (<see cref="ExternalLogin.ExternalSignIn"/>) both ask this one rule, inside the write that would create the
/// session, so that one refusal reads the same sentence everywhere and no way in can forget a case.
/// </summary>
public static class SignInRule
{
    /// <summary>Throws the refusal (code and sentence) of a deleted, deactivated or banned account; returns for one that may sign in.</summary>
    public static void ThrowIfCannotSignIn(User user, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(user);
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
}
