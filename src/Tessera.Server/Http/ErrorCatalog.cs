using System.Collections.Frozen;
using Tessera.Core;

namespace Tessera.Server.Http;

/// <summary>
/// Every error code of the HTTP contract with the status and title of the problems that carry it: the one table that
/// <see cref="Problems"/> reads, for the core's refusals (<see cref="TesseraException"/>, codes in <see cref="ErrorCodes"/>),
/// the server's own problems (codes below) and the framework's bodiless error responses.
/// </summary>
internal static class ErrorCatalog
{
    public const string Unauthenticated = "unauthenticated";
    public const string SessionRevoked = "session_revoked";
    public const string SessionExpired = "session_expired";
    public const string Forbidden = "forbidden";
    public const string CsrfFailed = "csrf_failed";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string InternalError = "internal_error";
    public const string InvalidationNotConfirmed = "invalidation_not_confirmed";
    public const string StorageUnavailable = "storage_unavailable";

    /// <summary>
    /// By status: its title, the code the framework's own responses with that status get (none: a 4xx gets
    /// <c>validation_failed</c>, a 5xx <c>internal_error</c>), and every code that problems with that status carry.
    /// </summary>
    /// <remarks>
    /// One exception, by design: a session that no longer holds because its account was deactivated, banned or
    /// deleted is refused with 401 and that account's code (<see cref="Problems.SessionRejected"/>): the token no longer
    /// signs in, whatever a sign-in with that account would be refused with.
    /// </remarks>
    private static readonly StatusEntry[] Table =
    [
        new(400, "The request is not valid.", ErrorCodes.ValidationFailed,
            [ErrorCodes.ValidationFailed, ErrorCodes.WrongPassword, ErrorCodes.InvalidResetToken, ErrorCodes.CannotRevokeCurrent,
             ErrorCodes.CannotTargetSelf, ErrorCodes.WeakPassword, ErrorCodes.ExternalLoginFailed, ErrorCodes.ExternalEmailMissing,
             ErrorCodes.ExternalRedirectNotLoopback, ErrorCodes.ExternalCodeInvalid, ErrorCodes.ExternalCodeUsed, ErrorCodes.ExternalCodeExpired, ErrorCodes.ExternalCodeVerifierMismatch]),
        new(401, "Not signed in.", Unauthenticated,
            [Unauthenticated, SessionRevoked, SessionExpired, ErrorCodes.InvalidCredentials, ErrorCodes.AccountDeleted, ErrorCodes.InvalidClient]),
        new(403, "Forbidden.", Forbidden,
            [Forbidden, CsrfFailed, ErrorCodes.AccountDeactivated, ErrorCodes.AccountBanned, ErrorCodes.ReauthenticationRequired,
             ErrorCodes.InsufficientScope, ErrorCodes.ExternalRegistrationClosed]),
        new(404, "Not found.", ErrorCodes.NotFound, [ErrorCodes.NotFound, ErrorCodes.UnknownProvider]),
        new(405, "The method is not allowed here.", MethodNotAllowed, [MethodNotAllowed]),
        new(409, "Conflict.", FrameworkCode: null, [ErrorCodes.EmailTaken, ErrorCodes.UserDeleted, ErrorCodes.ClientDisabled, ErrorCodes.ExternalEmailUnverified, ErrorCodes.LastSignInMethod]),
        new(413, "The request body is too large.", PayloadTooLarge, [PayloadTooLarge]),
        new(415, "Unsupported media type.", UnsupportedMediaType, [UnsupportedMediaType]),
        new(429, "Too many requests.", FrameworkCode: null, [ErrorCodes.RateLimited]),
        new(500, "An error occurred.", InternalError, [InternalError]),
        new(503, "Service unavailable.", FrameworkCode: null, [InvalidationNotConfirmed, StorageUnavailable]),
    ];

    /// <summary>The title of a status the table does not name.</summary>
    private const string OtherTitle = "An error occurred.";

    private static readonly FrozenDictionary<string, int> StatusByCode =
        Table.SelectMany(entry => entry.Codes.Select(code => KeyValuePair.Create(code, entry.Status))).ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<int, StatusEntry> EntryByStatus = Table.ToFrozenDictionary(entry => entry.Status);

    /// <summary>The status of a problem with <paramref name="code"/>; 400 for a code the table does not name.</summary>
    public static int StatusOf(string code) => StatusByCode.GetValueOrDefault(code, StatusCodes.Status400BadRequest);

    /// <summary>The code of a problem the framework produced (unknown route, wrong method), by its status.</summary>
    public static string CodeOf(int status) =>
        EntryByStatus.GetValueOrDefault(status)?.FrameworkCode
        ?? (status >= StatusCodes.Status500InternalServerError ? InternalError : ErrorCodes.ValidationFailed);

    /// <summary>The title of every problem with <paramref name="status"/>.</summary>
    public static string TitleOf(int status) => EntryByStatus.GetValueOrDefault(status)?.Title ?? OtherTitle;

    private sealed record StatusEntry(int Status, string Title, string? FrameworkCode, string[] Codes);
}
