namespace Tessera.Core.Sessions;

/// <summary>Why a session ended. The wire names (snake_case) are part of the HTTP contract.</summary>
public enum RevocationReason
{
    SignedOut,
    SignedOutAllDevices,
    SignedOutOtherDevices,
    RevokedByUser,
    PasswordChanged,
    PasswordReset,
    UserDeactivated,
    UserBanned,
    UserDeleted,
    RevokedByAdmin,
    TokenRevoked,

    /// <summary>
    /// The loopback sign-in code that made the session was exchanged again (RFC 6749 section 4.1.2): someone else may hold
    /// it, so what it gave is taken back.
    /// </summary>
    SignInCodeReplayed,
}

public static class RevocationReasons
{
    private static readonly Dictionary<string, RevocationReason> ByWireName =
        Enum.GetValues<RevocationReason>().ToDictionary(ToWireName, StringComparer.Ordinal);

    public static string ToWireName(this RevocationReason reason) => reason switch
    {
        RevocationReason.SignedOut => "signed_out",
        RevocationReason.SignedOutAllDevices => "signed_out_all_devices",
        RevocationReason.SignedOutOtherDevices => "signed_out_other_devices",
        RevocationReason.RevokedByUser => "revoked_by_user",
        RevocationReason.PasswordChanged => "password_changed",
        RevocationReason.PasswordReset => "password_reset",
        RevocationReason.UserDeactivated => "user_deactivated",
        RevocationReason.UserBanned => "user_banned",
        RevocationReason.UserDeleted => "user_deleted",
        RevocationReason.RevokedByAdmin => "revoked_by_admin",
        RevocationReason.TokenRevoked => "token_revoked",
        RevocationReason.SignInCodeReplayed => "sign_in_code_replayed",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    public static bool TryParse(string? wireName, out RevocationReason reason) =>
        ByWireName.TryGetValue(wireName ?? string.Empty, out reason);

    /// <summary>A sentence a client can show the person whose session ended.</summary>
    public static string Describe(this RevocationReason reason) => reason switch
    {
        RevocationReason.SignedOut => "You signed out.",
        RevocationReason.SignedOutAllDevices => "You signed out of all devices.",
        RevocationReason.SignedOutOtherDevices => "Your session was ended from another device.",
        RevocationReason.RevokedByUser => "Your session was ended from another device.",
        RevocationReason.PasswordChanged => "Your password was changed, so this session was ended. Please sign in again.",
        RevocationReason.PasswordReset => "Your password was reset, so this session was ended. Please sign in again.",
        RevocationReason.UserDeactivated => "Your account has been deactivated.",
        RevocationReason.UserBanned => "Your account has been banned.",
        RevocationReason.UserDeleted => "Your account has been deleted.",
        RevocationReason.RevokedByAdmin => "An administrator ended your session.",
        RevocationReason.TokenRevoked => "Your session token was revoked. Please sign in again.",
        RevocationReason.SignInCodeReplayed => "The one-time code that signed this session in was used again, so the session was ended to be safe. Please sign in again.",
        _ => "Your session has ended.",
    };
}
