using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Tessera.AspNetCore.Authentication;
using Tessera.AspNetCore.Verdicts;

namespace Tessera.AspNetCore;

/// <summary>
/// Sign-in and sign-out for an app with its own sign-in form: the app's service client (scope <c>login</c>) calls
/// Tessera's <c>POST /v1/auth/login</c> for the visitor, naming the visitor's address and user agent, and keeps the token
/// in the app's cookie; sign-out ends the session at Tessera and deletes the cookie.
/// </summary>
public sealed partial class TesseraSignIn
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly TesseraAuthorities _authorities;
    private readonly IHttpClientFactory _httpClients;
    private readonly ILogger<TesseraSignIn> _logger;

    internal TesseraSignIn(TesseraAuthorities authorities, IHttpClientFactory httpClients, ILogger<TesseraSignIn> logger)
    {
        _authorities = authorities;
        _httpClients = httpClients;
        _logger = logger;
    }

    /// <summary>
    /// Signs the visitor in with Tessera and, on success, sets the app's cookie. A refusal carries Tessera's <c>code</c>
    /// (<c>invalid_credentials</c>, <c>account_deactivated</c>, <c>account_banned</c> with <c>BannedUntil</c>,
    /// <c>rate_limited</c> with <c>RetryAfter</c>, <c>validation_failed</c>) and its sentence; Tessera unreachable is
    /// <c>authority_unavailable</c>.
    /// </summary>
    public async Task<TesseraSignInResult> SignInAsync(HttpContext context, string email, string password, string? deviceName = null, string scheme = TesseraDefaults.AuthenticationScheme)
    {
        ArgumentNullException.ThrowIfNull(context);
        var authority = _authorities.Get(scheme);
        // The visitor as this app sees it (the socket's peer, or what the app's own forwarded-headers setup made of it).
        var userAgent = context.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null;
        var visitor = context.Connection.RemoteIpAddress is { } address ? new VisitorBody(address.ToString(), userAgent) : null;
        var body = new LoginBody(email, password, deviceName is null ? null : new DeviceBody(deviceName), visitor);
        using var request = new HttpRequestMessage(HttpMethod.Post, authority.BaseAddress + "/v1/auth/login")
        {
            Content = JsonContent.Create(body, options: Json),
        };
        request.Headers.Authorization = authority.BasicCredentials;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(authority.Options.BackchannelTimeout);
        try
        {
            using var response = await _httpClients.CreateClient(TesseraDefaults.HttpClientName).SendAsync(request, timeout.Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var login = await response.Content.ReadFromJsonAsync<LoginAnswer>(Json, timeout.Token);
                if (login?.Token is not { Length: > 0 } token)
                {
                    throw new JsonException("The login answer holds no token.");
                }

                context.Response.Cookies.Append(authority.Options.Cookie.Name!, token, authority.Options.Cookie.Build(context));
                return new TesseraSignInResult(true, null, null, login.User?.Id, login.Session?.Id, null, null);
            }

            var problem = await ReadProblemAsync(response, timeout.Token);
            // The app's own client refused (wrong secret, disabled, no 'login' scope): the visitor did nothing wrong.
            if ((response.StatusCode is HttpStatusCode.Unauthorized && problem.Code is "invalid_client" or null)
                || (response.StatusCode is HttpStatusCode.Forbidden && problem.Code is "insufficient_scope"))
            {
                LogClientRefused(_logger, (int)response.StatusCode);
                return Unavailable();
            }

            var retryAfter = response.Headers.RetryAfter?.Delta;
            return new TesseraSignInResult(false, problem.Code ?? "sign_in_failed", problem.Detail ?? "Signing in did not work.", null, null,
                problem.BannedUntil, retryAfter) { Reason = problem.Reason };
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException
            || (exception is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            LogUnreachable(_logger, exception.Message);
            return Unavailable();
        }
    }

    /// <summary>Ends the request's session at Tessera (<c>POST /v1/auth/logout</c>) and deletes the app's cookie. True when Tessera confirmed it.</summary>
    public async Task<bool> SignOutAsync(HttpContext context, string scheme = TesseraDefaults.AuthenticationScheme)
    {
        ArgumentNullException.ThrowIfNull(context);
        var authority = _authorities.Get(scheme);
        var feature = context.Features.Get<TesseraRequestFeature>();
        var token = feature?.Token
            ?? (context.Request.Cookies.TryGetValue(authority.Options.Cookie.Name!, out var cookie) ? cookie : null);
        TesseraCookie.Delete(context, authority.Options);
        if (string.IsNullOrEmpty(token))
        {
            return true;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, authority.BaseAddress + "/v1/auth/logout");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(authority.Options.BackchannelTimeout);
        try
        {
            using var response = await _httpClients.CreateClient(TesseraDefaults.HttpClientName).SendAsync(request, timeout.Token);
            // 401: the session had ended already, which is what signing out wants.
            var ended = response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Unauthorized;
            if (ended && feature?.Verdict?.Introspection is { Sid: { } sid, Sub: { } sub })
            {
                // As the revoked event will say (it may be on its way): a later request with the token is told why.
                authority.ApplyRevoked(sub, [sid], "signed_out", userChanged: false, TimeSpan.Zero);
            }
            else
            {
                authority.Cache.Remove(VerdictKey.Of(token));
            }

            return ended;
        }
        catch (Exception exception) when (exception is HttpRequestException
            || (exception is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            LogUnreachable(_logger, exception.Message);
            authority.Cache.Remove(VerdictKey.Of(token));
            return false;
        }
    }

    private static async Task<ProblemBody> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<ProblemBody>(Json, cancellationToken) ?? new ProblemBody();
        }
        catch (JsonException)
        {
            return new ProblemBody();
        }
        catch (NotSupportedException)
        {
            return new ProblemBody();
        }
    }

    private static TesseraSignInResult Unavailable() =>
        new(false, TesseraProblems.AuthorityUnavailable, "The sign-in service cannot be reached. Try again in a moment.", null, null, null, null);

    private sealed record LoginBody(
        string Email, string Password,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DeviceBody? Device,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] VisitorBody? Visitor);

    private sealed record DeviceBody(string Name);

    private sealed record VisitorBody(string IpAddress, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UserAgent);

    private sealed record LoginAnswer(string? Token, IdOnly? Session, IdOnly? User);

    private sealed record IdOnly(string? Id);

    private sealed record ProblemBody
    {
        public string? Code { get; init; }

        public string? Detail { get; init; }

        public string? Reason { get; init; }

        public DateTimeOffset? BannedUntil { get; init; }

        [JsonPropertyName("error")]
        public string? Error { get; init; }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Tessera refused the app's client at sign-in ({Status}). Check Tessera:ClientId, Tessera:ClientSecret and the client's 'login' scope.")]
    private static partial void LogClientRefused(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tessera could not be reached to sign in or out: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string error);
}

/// <summary>
/// The outcome of <see cref="TesseraSignIn.SignInAsync"/>: success with the user and session ids, or a refusal with
/// Tessera's <see cref="Code"/>, the sentence to show (<see cref="Message"/>), and for a ban <see cref="BannedUntil"/>
/// (null for a ban without end), for throttling <see cref="RetryAfter"/>.
/// </summary>
public sealed record TesseraSignInResult(
    bool Succeeded, string? Code, string? Message, string? UserId, string? SessionId, DateTimeOffset? BannedUntil, TimeSpan? RetryAfter)
{
    /// <summary>Tessera's <c>reason</c> member of the refusal, when it gave one.</summary>
    public string? Reason { get; init; }
}
