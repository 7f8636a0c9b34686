using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.Core.Notifications;
using Tessera.Core.Options;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>Drains the <see cref="PendingPasswordResets"/>: for each request, the lookup, a new token and the message.</summary>
public sealed partial class PasswordResetDispatcher(
    PendingPasswordResets queue,
    ITesseraStore store,
    IPasswordResetSender resetSender,
    TimeProvider clock,
    IOptions<TesseraOptions> options,
    ILogger<PasswordResetDispatcher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var request in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await SendPasswordResetAsync(request, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Nobody waits for this answer; the person can ask again.
                    LogFailed(logger, exception);
                }
                finally
                {
                    queue.Handled();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Sends a reset token when the email belongs to a live account. The new token ends every older one of the user in
    /// the same transaction: only the newest message works.
    /// </summary>
    private async Task SendPasswordResetAsync(AcceptedResetRequest request, CancellationToken cancellationToken)
    {
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
        var expiresAt = now + options.Value.Passwords.ResetTokenLifetime;
        await using (var write = await store.BeginWriteAsync(cancellationToken).ConfigureAwait(false))
        {
            await write.PasswordResetTokens.InsertAsync(new PasswordResetToken(tokenHash, user.Id, now, expiresAt, null), cancellationToken).ConfigureAwait(false);
            await write.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        await resetSender.SendAsync(new PasswordResetMessage(user.Email, user.DisplayName, token, expiresAt), cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Sending a password reset failed.")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
