namespace Tessera.Core.Notifications;

/// <summary>Delivers password reset tokens (email in production).</summary>
public interface IPasswordResetSender
{
    Task SendAsync(PasswordResetMessage message, CancellationToken cancellationToken);
}
