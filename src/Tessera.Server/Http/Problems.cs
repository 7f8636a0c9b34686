using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Sessions;

namespace Tessera.Server.Http;

/// <summary>RFC 9457 problem responses with the contract's <c>code</c> member.</summary>
internal static class Problems
{
    public static ProblemHttpResult Create(int status, string code, string detail, IEnumerable<KeyValuePair<string, object?>>? extensions = null)
    {
        var problem = new ProblemDetails { Status = status, Title = TitleOf(status), Detail = detail };
        problem.Extensions["code"] = code;
        foreach (var (key, value) in extensions ?? [])
        {
            problem.Extensions[key] = value;
        }

        return TypedResults.Problem(problem);
    }

    public static ProblemHttpResult From(TesseraException exception) =>
        Create(StatusOf(exception.Code), exception.Code, exception.Message, exception.Details);

    public static ProblemHttpResult Validation(string field, string message) => From(TesseraException.Validation(field, message));

    public static ProblemHttpResult NotFound(string what) => From(TesseraException.NotFound(what));

    public static ProblemHttpResult Forbidden(string detail) => Create(StatusCodes.Status403Forbidden, "forbidden", detail);

    /// <summary>The 401 for a token whose session does not hold, saying why.</summary>
    public static ProblemHttpResult SessionRejected(SessionVerdict verdict)
    {
        var extensions = new List<KeyValuePair<string, object?>>();
        if (verdict.Reason is { } reason)
        {
            extensions.Add(new("reason", reason.ToWireName()));
        }

        if (verdict.Kind == SessionVerdictKind.AccountBanned)
        {
            extensions.Add(new("bannedUntil", verdict.BannedUntil));
        }

        var code = verdict.Kind switch
        {
            SessionVerdictKind.Revoked => "session_revoked",
            SessionVerdictKind.Expired => "session_expired",
            SessionVerdictKind.AccountDeactivated => ErrorCodes.AccountDeactivated,
            SessionVerdictKind.AccountBanned => ErrorCodes.AccountBanned,
            SessionVerdictKind.AccountDeleted => ErrorCodes.AccountDeleted,
            _ => "unauthenticated",
        };
        var detail = verdict.Kind == SessionVerdictKind.Unauthenticated
            ? "Sign in: the request has no valid session token."
            : verdict.EndedMessage;
        return Create(StatusCodes.Status401Unauthorized, code, detail, extensions);
    }

    public static int StatusOf(string code) => code switch
    {
        ErrorCodes.ValidationFailed or ErrorCodes.WrongPassword or ErrorCodes.InvalidResetToken
            or ErrorCodes.CannotRevokeCurrent or ErrorCodes.CannotTargetSelf => StatusCodes.Status400BadRequest,
        ErrorCodes.InvalidCredentials or ErrorCodes.AccountDeleted => StatusCodes.Status401Unauthorized,
        ErrorCodes.AccountDeactivated or ErrorCodes.AccountBanned or ErrorCodes.ReauthenticationRequired => StatusCodes.Status403Forbidden,
        ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        ErrorCodes.EmailTaken or ErrorCodes.UserDeleted => StatusCodes.Status409Conflict,
        ErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>The code of a problem the framework produced (unknown route, wrong method), by its status.</summary>
    public static string CodeOf(int status) => status switch
    {
        StatusCodes.Status404NotFound => ErrorCodes.NotFound,
        StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
        StatusCodes.Status413PayloadTooLarge => "payload_too_large",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        StatusCodes.Status401Unauthorized => "unauthenticated",
        StatusCodes.Status403Forbidden => "forbidden",
        >= 500 => "internal_error",
        _ => ErrorCodes.ValidationFailed,
    };

    public static string TitleOf(int status) => status switch
    {
        400 => "The request is not valid.",
        401 => "Not signed in.",
        403 => "Forbidden.",
        404 => "Not found.",
        409 => "Conflict.",
        413 => "The request body is too large.",
        405 => "The method is not allowed here.",
        415 => "Unsupported media type.",
        429 => "Too many requests.",
        503 => "Service unavailable.",
        _ => "An error occurred.",
    };
}
