using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core;
using Tessera.Core.Invalidations;

namespace Tessera.Server.Http;

/// <summary>
/// Turns refusals from the core (<see cref="TesseraException"/>) and unreadable requests (bad JSON, wrong types,
/// bodies too large) into 4xx problems with a code. Anything else is a bug: 500 with <c>internal_error</c>.
/// </summary>
internal sealed partial class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            TesseraException refused => Problems.From(refused),
            InvalidationNotConfirmedException => Problems.Create(ErrorCatalog.InvalidationNotConfirmed,
                "The change is saved, but not every node could be told in time; it is delivered again as soon as they can be reached."),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                Problems.Create(ErrorCatalog.PayloadTooLarge, "The request body is too large."),
            BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } =>
                Problems.Create(ErrorCatalog.UnsupportedMediaType, "Send the body as application/json."),
            BadHttpRequestException bad => Problems.Create(ErrorCodes.ValidationFailed, Describe(bad)),
            JsonException => Problems.Create(ErrorCodes.ValidationFailed, "The body is not valid JSON for this request."),

            // The store could not answer: what cannot be decided safely is refused, never guessed.
            System.Data.Common.DbException => Problems.Create(ErrorCatalog.StorageUnavailable,
                "The session store cannot be reached; try again shortly."),
            _ => null,
        };

        problem ??= Problems.Create(ErrorCatalog.InternalError, "Something went wrong on our side.");
        if (problem.StatusCode >= StatusCodes.Status500InternalServerError)
        {
            LogServerError(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }

        if (problem.ProblemDetails.Extensions.TryGetValue("retryAfter", out var retryAfter) && retryAfter is int seconds)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await Problems.WriteAsync(httpContext, problem).ConfigureAwait(false);
        return true;
    }

    // The framework's messages name the parameter and what was wrong with it, without echoing the body.
    private static string Describe(BadHttpRequestException bad) =>
        bad.InnerException is JsonException ? "The body is not valid JSON for this request." : bad.Message;

    [LoggerMessage(Level = LogLevel.Error, Message = "Server error on {Method} {Path}.")]
    private static partial void LogServerError(ILogger logger, Exception exception, string method, string path);
}
