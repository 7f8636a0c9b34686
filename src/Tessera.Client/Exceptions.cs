using System.Net;

namespace Tessera.Client;

/// <summary>
/// Tessera answered and refused: the request was read and decided. <see cref="Exception.Message"/> is the server's
/// sentence for a person (its <c>detail</c>); <see cref="Code"/> is what a program switches on (see
/// <see cref="TesseraErrorCodes"/>). Never thrown for a network failure: that is <see cref="TesseraUnavailableException"/>.
/// </summary>
public sealed class TesseraApiException : Exception
{
    public TesseraApiException()
    {
    }

    public TesseraApiException(string message)
        : base(message)
    {
    }

    public TesseraApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public TesseraApiException(HttpStatusCode statusCode, string? code, string message, string? reason = null, DateTimeOffset? bannedUntil = null, TimeSpan? retryAfter = null)
        : base(message)
    {
        StatusCode = statusCode;
        Code = code;
        Reason = reason;
        BannedUntil = bannedUntil;
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The problem's <c>code</c> (<c>invalid_credentials</c>, <c>account_banned</c>, …); null when the answer had none.</summary>
    public string? Code { get; }

    /// <summary>For a session that no longer holds: why it was ended (<c>signed_out_all_devices</c>, <c>user_banned</c>, …).</summary>
    public string? Reason { get; }

    /// <summary>For <c>account_banned</c>: when the ban ends; null for a ban until unbanned (and on every other code).</summary>
    public DateTimeOffset? BannedUntil { get; }

    /// <summary>For <c>rate_limited</c>: how long to wait before trying again.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>
    /// True when this refusal means the session this client was signed in with is over for good (a 401 on a signed-in
    /// request: revoked, expired, unknown, or the account deactivated, banned or deleted). The token has been cleared.
    /// </summary>
    public bool SessionEnded { get; internal init; }
}

/// <summary>
/// Tessera could not be reached or gave no answer in time (no network, DNS, refused or reset connection, timeout, a
/// gateway's 5xx without Tessera's problem). Nothing was decided: the session, if any, still stands. Apps show
/// "offline" and try again; they never sign the person out for this.
/// </summary>
public sealed class TesseraUnavailableException : Exception
{
    public TesseraUnavailableException()
    {
    }

    public TesseraUnavailableException(string message)
        : base(message)
    {
    }

    public TesseraUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The <c>code</c> values of Tessera's problems that a client app meets (docs/api.md, <i>Error codes</i>).</summary>
public static class TesseraErrorCodes
{
    public const string ValidationFailed = "validation_failed";
    public const string WeakPassword = "weak_password";
    public const string WrongPassword = "wrong_password";
    public const string InvalidResetToken = "invalid_reset_token";
    public const string CannotRevokeCurrent = "cannot_revoke_current";
    public const string Unauthenticated = "unauthenticated";
    public const string InvalidCredentials = "invalid_credentials";
    public const string SessionRevoked = "session_revoked";
    public const string SessionExpired = "session_expired";
    public const string AccountDeactivated = "account_deactivated";
    public const string AccountBanned = "account_banned";
    public const string AccountDeleted = "account_deleted";
    public const string NotFound = "not_found";
    public const string RateLimited = "rate_limited";
    public const string StorageUnavailable = "storage_unavailable";
    public const string InvalidationNotConfirmed = "invalidation_not_confirmed";

    /// <summary>
    /// The codes of a 401 on a signed-in request: the token will never work again. The only answers (with the event
    /// stream's <c>session.revoked</c>) after which a client forgets its token.
    /// </summary>
    public static bool EndsSession(HttpStatusCode status, string? code) =>
        status == HttpStatusCode.Unauthorized
        && code is Unauthenticated or SessionRevoked or SessionExpired or AccountDeactivated or AccountBanned or AccountDeleted;

    /// <summary>The revocation reason for an ended session's 401, when the problem named none.</summary>
    internal static string ReasonOf(string? code) => code switch
    {
        AccountDeactivated => "user_deactivated",
        AccountBanned => "user_banned",
        AccountDeleted => "user_deleted",
        SessionExpired => "session_expired",
        _ => "token_revoked",
    };
}
