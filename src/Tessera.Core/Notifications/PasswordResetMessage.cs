namespace Tessera.Core.Notifications;

/// <summary>A password reset message to deliver to the account's email address.</summary>
public sealed record PasswordResetMessage(string Email, string DisplayName, string Token, DateTimeOffset ExpiresAt);
