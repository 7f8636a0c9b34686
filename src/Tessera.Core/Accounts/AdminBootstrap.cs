using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.Core.Audit;
using Tessera.Core.Options;
using Tessera.Core.Security;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>
/// Creates the configured first admin while the store has no admin at all, so a fresh install can be administered. Once
/// any admin exists, even a deleted one, it does nothing: deleting the bootstrap admin must not bring it back, with the
/// password still in the configuration, at the next start.
/// </summary>
public sealed partial class AdminBootstrap(
    ITesseraStore store,
    Registration registration,
    IPasswordHasher hasher,
    TimeProvider clock,
    IOptions<TesseraOptions> options,
    ILogger<AdminBootstrap> logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var bootstrap = options.Value.Bootstrap;
        if (string.IsNullOrWhiteSpace(bootstrap.AdminEmail) || string.IsNullOrEmpty(bootstrap.AdminPassword))
        {
            return;
        }

        var email = User.NormalizeEmail(bootstrap.AdminEmail);
        await using (var read = await store.BeginReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await read.Users.FindByEmailAsync(email, cancellationToken).ConfigureAwait(false) is not null
                || await read.Users.AnyAdminAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }

        var now = clock.GetUtcNow();
        var admin = new User
        {
            Id = Ids.NewUserId(clock),
            Email = email,
            DisplayName = "Administrator",
            PasswordHash = hasher.Hash(bootstrap.AdminPassword),
            Role = UserRole.Admin,
            CreatedAt = now,
            UpdatedAt = now,
        };
        try
        {
            await registration.CreateUserAsync(admin, Actor.System, null, cancellationToken).ConfigureAwait(false);
            LogCreated(logger, email);
        }
        catch (TesseraException taken) when (taken.Code == ErrorCodes.EmailTaken)
        {
            // Another node created it first.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created the bootstrap admin {Email}.")]
    private static partial void LogCreated(ILogger logger, string email);
}
