using System.Text.Json.Serialization;

namespace Tessera.Server.OAuth;

/// <summary>
/// The error answers of the <c>/oauth2</c> endpoints: RFC 6749 §5.2's <c>{"error", "error_description"}</c> (which RFC 7662
/// and RFC 7009 use), not RFC 9457 problems. The server's problem machinery (the request guard, status-code pages, the
/// exception handler) answers through <see cref="Problems.WriteAsync"/>, which asks <see cref="Applies"/>.
/// </summary>
internal static class OAuthErrors
{
    public const string PathPrefix = "/oauth2";

    /// <summary>The request is missing a parameter, has one twice, uses two client authentication methods, or is not a form.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>The client is unknown, its secret is wrong, or it is disabled (401).</summary>
    public const string InvalidClient = "invalid_client";

    /// <summary>The client authenticated but lacks the scope the endpoint needs (400).</summary>
    public const string UnauthorizedClient = "unauthorized_client";

    /// <summary>Too many failed client authentications from the caller's address (429, with Retry-After).</summary>
    public const string RateLimited = "rate_limited";

    public const string ServerError = "server_error";

    public const string TemporarilyUnavailable = "temporarily_unavailable";

    /// <summary>What <c>WWW-Authenticate</c> says on a 401 to a client that used (or could use) HTTP Basic.</summary>
    public const string BasicChallenge = "Basic realm=\"tessera\"";

    public static bool Applies(HttpRequest request) => request.Path.StartsWithSegments(PathPrefix, StringComparison.OrdinalIgnoreCase);

    public static IResult Result(int status, string error, string? description) =>
        TypedResults.Json(new OAuthErrorBody(error, description), statusCode: status, contentType: "application/json; charset=utf-8");

    /// <summary>The RFC shape of a refusal the server would otherwise send as a problem with <paramref name="status"/>.</summary>
    public static IResult ForStatus(int status, string? description) => status switch
    {
        >= 500 and not 503 => Result(status, ServerError, description),
        503 => Result(status, TemporarilyUnavailable, description),
        StatusCodes.Status429TooManyRequests => Result(status, RateLimited, description),
        StatusCodes.Status415UnsupportedMediaType => Result(StatusCodes.Status400BadRequest, InvalidRequest, description),
        _ => Result(status, InvalidRequest, description),
    };

    public static Task WriteAsync(HttpContext httpContext, int status, string? description) => ForStatus(status, description).ExecuteAsync(httpContext);
}

/// <summary>RFC 6749 §5.2.</summary>
internal sealed record OAuthErrorBody(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ErrorDescription);
