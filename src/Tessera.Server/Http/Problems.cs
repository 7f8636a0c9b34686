using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Sessions;

namespace Tessera.Server.Http;

/// <summary>RFC 9457 problem responses with the contract's <c>code</c> member.</summary>
internal static class Problems
{
    /// <summary>A problem with <paramref name="code"/>, and the status the <see cref="ErrorCatalog"/> gives it.</summary>
    public static ProblemHttpResult Create(string code, string detail, IEnumerable<KeyValuePair<string, object?>>? extensions = null) =>
        Create(ErrorCatalog.StatusOf(code), code, detail, extensions);

    /// <summary>A problem with <paramref name="code"/> and <paramref name="status"/>, titled as the status is in the <see cref="ErrorCatalog"/>.</summary>
    public static ProblemHttpResult Create(int status, string code, string detail, IEnumerable<KeyValuePair<string, object?>>? extensions = null)
    {
        var problem = new ProblemDetails { Status = status, Title = ErrorCatalog.TitleOf(status), Detail = detail };
        problem.Extensions["code"] = code;
        foreach (var (key, value) in extensions ?? [])
        {
            problem.Extensions[key] = value;
        }

        return TypedResults.Problem(problem);
    }

    /// <summary>
    /// Writes a refusal in the shape the route's clients parse: the problem itself, or under <c>/oauth2</c> the RFC 6749
    /// error with the same status and description (<see cref="OAuth.OAuthErrors"/>). The request guard, the status-code
    /// pages and the exception handler all answer through here.
    /// </summary>
    public static Task WriteAsync(HttpContext context, ProblemHttpResult problem) =>
        OAuth.OAuthErrors.Applies(context.Request)
            ? OAuth.OAuthErrors.WriteAsync(context, problem.StatusCode, problem.ProblemDetails.Detail)
            : problem.ExecuteAsync(context);

    public static ProblemHttpResult From(TesseraException exception) => Create(exception.Code, exception.Message, exception.Details);

    public static ProblemHttpResult Validation(string field, string message) => From(TesseraException.Validation(field, message));

    public static ProblemHttpResult NotFound(string what) => From(TesseraException.NotFound(what));

    public static ProblemHttpResult Forbidden(string detail) => Create(ErrorCatalog.Forbidden, detail);

    /// <summary>
    /// The 401 for a token whose session does not hold, saying why: always 401, also with the code of a deactivated or
    /// banned account (which a sign-in is refused with 403), because the token no longer signs in.
    /// </summary>
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

        var code = SessionRejectedCode(verdict);
        var detail = SessionRejectedDetail(verdict);
        return Create(StatusCodes.Status401Unauthorized, code, detail, extensions);
    }

    /// <summary>The <c>code</c> of <see cref="SessionRejected"/> for a verdict.</summary>
    public static string SessionRejectedCode(SessionVerdict verdict) => verdict.Kind switch
    {
        SessionVerdictKind.Revoked => ErrorCatalog.SessionRevoked,
        SessionVerdictKind.Expired => ErrorCatalog.SessionExpired,
        SessionVerdictKind.AccountDeactivated => ErrorCodes.AccountDeactivated,
        SessionVerdictKind.AccountBanned => ErrorCodes.AccountBanned,
        SessionVerdictKind.AccountDeleted => ErrorCodes.AccountDeleted,
        _ => ErrorCatalog.Unauthenticated,
    };

    /// <summary>The <c>detail</c> of <see cref="SessionRejected"/> for a verdict: the sentence for the person.</summary>
    public static string SessionRejectedDetail(SessionVerdict verdict) => verdict.Kind == SessionVerdictKind.Unauthenticated
        ? "Sign in: the request has no valid session token."
        : verdict.EndedMessage;
}
