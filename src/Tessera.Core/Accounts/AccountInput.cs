using System.Net.Mail;
using Tessera.Core.Users;

namespace Tessera.Core.Accounts;

/// <summary>What a person types about their account (an email, a display name), checked the same way by every use case.</summary>
internal static class AccountInput
{
    public const int MaxEmailLength = 254;
    public const int MaxDisplayNameLength = 100;

    public static string ValidateEmail(string? email)
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

    public static string? ValidateDisplayName(string? displayName) =>
        ShownText.Check(displayName, "displayName", "The display name", MaxDisplayNameLength);
}
