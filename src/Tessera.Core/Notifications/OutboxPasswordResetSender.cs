using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Tessera.Core.Notifications;

/// <summary>
/// The default sender for a machine without mail: writes the message to the log and to a file in the outbox
/// (<see cref="OutboxOptions.Directory"/>, <c>{DataDirectory}/outbox</c> in the server), where an operator (or a test)
/// can pick it up.
/// </summary>
public sealed partial class OutboxPasswordResetSender(IOptions<OutboxOptions> options, TimeProvider clock, ILogger<OutboxPasswordResetSender> logger)
    : IPasswordResetSender
{
    public string OutboxDirectory { get; } = Path.GetFullPath(options.Value.Directory);

    public async Task SendAsync(PasswordResetMessage message, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(OutboxDirectory);
        var stamp = clock.GetUtcNow().ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture);
        var path = Path.Combine(OutboxDirectory, $"{stamp}-password-reset-{Guid.NewGuid():N}.txt");
        var body = $"""
            To: {message.Email}
            Subject: Reset your Tessera password

            Hello {message.DisplayName},

            Someone asked to reset the password of this account. If it was you, open this page of
            the Tessera web console before {message.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC:

            /reset-password?token={message.Token}

            or send this token to POST /v1/auth/password/reset:

            {message.Token}

            If it was not you, ignore this message; your password stays as it is.
            """;
        await File.WriteAllTextAsync(path, body, cancellationToken).ConfigureAwait(false);
        LogWritten(logger, message.Email, path);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Password reset message for {Email} written to {Path}.")]
    private static partial void LogWritten(ILogger logger, string email, string path);
}
