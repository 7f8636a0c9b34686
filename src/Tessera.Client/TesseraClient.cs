using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Tessera.Client;

/// <summary>
/// A desktop or mobile app's way to Tessera: sign in (the token goes to the <see cref="ITokenStore"/>), whoami, the
/// person's active sessions and ending them, password change and reset request. Speaks HTTP only.
/// </summary>
/// <remarks>
/// Every method throws <see cref="TesseraApiException"/> when Tessera refuses, and <see cref="TesseraUnavailableException"/>
/// when it cannot be reached: an app signs the person out for the first kind only, and only when
/// <see cref="TesseraApiException.SessionEnded"/> says so (the client has then cleared the token, and a running
/// <see cref="SessionWatcher"/> raises <see cref="SessionWatcher.SessionEnded"/>). Thread-safe.
/// </remarks>
public sealed class TesseraClient : IDisposable
{
    private static readonly ProductInfoHeaderValue UserAgent = new("Tessera.Client", typeof(TesseraClient).Assembly.GetName().Version?.ToString(3) ?? "1.0.0");

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _authority;
    private readonly ILogger _logger;

    /// <summary>Tokens this client ended itself (sign-out, sign out all devices): their ending is no news to the app.</summary>
    private readonly HashSet<string> _endedHere = new(StringComparer.Ordinal);
    // An object, not System.Threading.Lock: net8.0 has no Lock.
    private readonly object _lock = new();

    public TesseraClient(TesseraClientOptions options, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Authority is null || !options.Authority.IsAbsoluteUri)
        {
            throw new ArgumentException("Authority must be the absolute URL of the Tessera server.", nameof(options));
        }

        _authority = options.Authority.AbsoluteUri.EndsWith('/') ? options.Authority : new Uri(options.Authority.AbsoluteUri + "/");
        TokenStore = options.TokenStore ?? FileTokenStore.ForApp(options.AppName);
        Device = options.Device ?? DeviceInfo.FromMachine();
        TimeProvider = options.TimeProvider;
        RequestTimeout = options.RequestTimeout;
        LoggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = LoggerFactory.CreateLogger<TesseraClient>();
        if (httpClient is null)
        {
            // The client's own timeouts run on TimeProvider; the stream must be able to stay open for hours.
            _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false, UseCookies = false })
            {
                Timeout = Timeout.InfiniteTimeSpan,
            };
            _ownsHttp = true;
        }
        else
        {
            _http = httpClient;
        }
    }

    /// <summary>Where the token is kept.</summary>
    public ITokenStore TokenStore { get; }

    /// <summary>What this device says about itself at sign-in.</summary>
    public DeviceInfo Device { get; }

    /// <summary>The clock of every wait.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The server.</summary>
    public Uri Authority => _authority;

    internal TimeSpan RequestTimeout { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal HttpClient Http => _http;

    /// <summary>
    /// True when a token is stored. It says nothing about whether the session still holds: that is
    /// <see cref="GetCurrentSessionAsync"/>'s or a <see cref="SessionWatcher"/>'s to find out.
    /// </summary>
    public bool IsSignedIn => TokenStore.Load() is not null;

    /// <summary>A token ended (by this client or as the server said), for the watchers of this client.</summary>
    internal event Action<EndedSession>? SessionEndedDetected;

    /// <summary>A token was stored or cleared by this client, so that a watcher looks again at once.</summary>
    internal event Action? TokenChanged;

    /// <summary>A watcher on this client's session; call <see cref="SessionWatcher.Start"/> once the app is ready for its events.</summary>
    public SessionWatcher CreateWatcher(SessionWatcherOptions? options = null) => new(this, options);

    /// <summary>
    /// Signs in with <see cref="Device"/> and stores the new token. Refusals: <c>invalid_credentials</c>,
    /// <c>account_deactivated</c>, <c>account_banned</c> (with <see cref="TesseraApiException.BannedUntil"/>),
    /// <c>rate_limited</c> (with <see cref="TesseraApiException.RetryAfter"/>), <c>validation_failed</c>.
    /// </summary>
    public async Task<SignInResult> SignInAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(email);
        ArgumentNullException.ThrowIfNull(password);
        var request = new LoginRequest(email, password, new LoginDevice(DeviceInfo.Clean(Device.Name), Device.Platform, DeviceInfo.Clean(Device.Os)));
        var response = await SendAsync(HttpMethod.Post, "v1/auth/login", JsonContent.Create(request, ClientJson.Default.LoginRequest), token: null, ClientJson.Default.LoginResponse, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(response!.Token))
        {
            throw new TesseraApiException(HttpStatusCode.OK, code: null, "The server answered the sign-in without a token.");
        }

        TokenStore.Save(response.Token);
        TokenChanged?.Invoke();
        return new SignInResult(response.User.ToInfo(), response.Session.ToInfo());
    }

    /// <summary>The sign-in providers the server offers (<c>GET /v1/auth/external/providers</c>), to draw one button each.</summary>
    public async Task<IReadOnlyList<ExternalProvider>> GetExternalProvidersAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(HttpMethod.Get, "v1/auth/external/providers", content: null, token: null, ClientJson.Default.ExternalProvidersResponse, cancellationToken).ConfigureAwait(false);
        return [.. response!.Providers.Select(p => new ExternalProvider(p.Name, p.DisplayName))];
    }

    /// <summary>
    /// Signs in through an OpenID Connect provider in the person's browser (RFC 8252's loopback flow) and stores the new
    /// token: a listener on 127.0.0.1 at a free port, the browser opened at Tessera's start (<see cref="BrowserSignInOptions.OpenBrowser"/>),
    /// the provider's sign-in there, the browser sent back to the listener with a one-time code (the listener answers it
    /// with a page saying the window can be closed), and the code exchanged with this process's PKCE verifier for a session
    /// on <see cref="Device"/>. Refusals: <c>unknown_provider</c> (before any browser opens), <c>account_deactivated</c>,
    /// <c>account_banned</c>, <c>account_deleted</c>, <c>external_email_unverified</c>, <c>external_registration_closed</c>,
    /// <c>external_login_failed</c> (with the sentence the browser also showed), <c>external_code_expired</c> and the like.
    /// </summary>
    /// <exception cref="TimeoutException">The browser did not come back within <see cref="BrowserSignInOptions.Timeout"/>.</exception>
    public async Task<SignInResult> SignInWithBrowserAsync(string provider, BrowserSignInOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        options ??= new BrowserSignInOptions();
        var providers = await GetExternalProvidersAsync(cancellationToken).ConfigureAwait(false);
        if (!providers.Any(p => p.Name == provider))
        {
            throw new TesseraApiException(HttpStatusCode.NotFound, "unknown_provider",
                $"No sign-in provider is called '{provider}'. This server offers: {string.Join(", ", providers.Select(p => p.Name))}.");
        }

        var verifier = BrowserSignIn.NewSecret();
        var state = BrowserSignIn.NewSecret();
        using var listener = BrowserSignIn.Listen(out var redirectUri);
        var start = Route(string.Create(CultureInfo.InvariantCulture,
            $"v1/auth/external/{Uri.EscapeDataString(provider)}/start?redirect_uri={Uri.EscapeDataString(redirectUri.AbsoluteUri)}" +
            $"&code_challenge={BrowserSignIn.ChallengeOf(verifier)}&code_challenge_method=S256&state={state}"));

        using var timeout = new CancellationTokenSource(options.Timeout, TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        HttpListenerContext arrival;
        try
        {
            await options.OpenBrowser(start, linked.Token).ConfigureAwait(false);
            arrival = await BrowserSignIn.WaitForCallbackAsync(listener, state, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The browser did not come back from signing in with '{provider}' within {options.Timeout}.");
        }

        var query = arrival.Request.QueryString;
        if (query["error"] is { } error)
        {
            var sentence = query["error_description"] ?? "Signing in did not complete.";
            await BrowserSignIn.AnswerAsync(arrival, HttpStatusCode.OK, "Not signed in", sentence).ConfigureAwait(false);
            throw new TesseraApiException(BrowserSignIn.StatusOf(error), error, sentence);
        }

        try
        {
            var request = new ExchangeRequest(query["code"] ?? "", verifier, new LoginDevice(DeviceInfo.Clean(Device.Name), Device.Platform, DeviceInfo.Clean(Device.Os)));
            var response = await SendAsync(HttpMethod.Post, "v1/auth/external/exchange", JsonContent.Create(request, ClientJson.Default.ExchangeRequest), token: null, ClientJson.Default.LoginResponse, cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrEmpty(response!.Token))
            {
                throw new TesseraApiException(HttpStatusCode.OK, code: null, "The server answered the sign-in without a token.");
            }

            TokenStore.Save(response.Token);
            TokenChanged?.Invoke();
            await BrowserSignIn.AnswerAsync(arrival, HttpStatusCode.OK, "Signed in", $"You are signed in as {response.User.Email}. You can close this window.").ConfigureAwait(false);
            return new SignInResult(response.User.ToInfo(), response.Session.ToInfo());
        }
        catch (Exception failed) when (failed is TesseraApiException or TesseraUnavailableException)
        {
            await BrowserSignIn.AnswerAsync(arrival, HttpStatusCode.OK, "Not signed in", failed.Message).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Ends this session on the server and forgets the token. The token is forgotten even when the server cannot be
    /// reached, and then no exception is thrown (the person asked to sign out; the session ends by its idle timeout).
    /// Does nothing when not signed in.
    /// No <see cref="SessionWatcher.SessionEnded"/> follows: the app did it.
    /// </summary>
    public async Task SignOutAsync(CancellationToken cancellationToken = default)
    {
        var token = TokenStore.Load();
        if (token is null)
        {
            return;
        }

        MarkEndedHere(token);
        try
        {
            await SendAsync<object>(HttpMethod.Post, "v1/auth/logout", content: null, token, typeInfo: null, cancellationToken).ConfigureAwait(false);
        }
        catch (TesseraApiException exception) when (exception.SessionEnded)
        {
            // Already over: what the person wanted.
        }
        catch (TesseraUnavailableException)
        {
            // Signed out here all the same; the server ends the session by its idle timeout.
        }
        finally
        {
            ForgetIfStored(token);
        }
    }

    /// <summary>Whoami: the account and this session, from <c>GET /v1/auth/session</c>. Also moves the session's last activity.</summary>
    public async Task<CurrentSession> GetCurrentSessionAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendSignedInAsync(HttpMethod.Get, "v1/auth/session", content: null, ClientJson.Default.SessionResponse, cancellationToken).ConfigureAwait(false);
        return new CurrentSession(response!.User.ToInfo(), response.Session.ToInfo());
    }

    /// <summary>The person's live sessions, most recently active first; <see cref="SessionInfo.IsCurrent"/> marks this one.</summary>
    public async Task<IReadOnlyList<SessionInfo>> ListSessionsAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendSignedInAsync(HttpMethod.Get, "v1/sessions", content: null, ClientJson.Default.SessionsResponse, cancellationToken).ConfigureAwait(false);
        return response!.Sessions.Select(session => session.ToInfo()).ToArray();
    }

    /// <summary>
    /// Ends one of the person's other sessions (that device learns it with <c>revoked_by_user</c>). Refusals:
    /// <c>cannot_revoke_current</c> (this session: use <see cref="SignOutAsync"/>), <c>not_found</c>.
    /// </summary>
    public Task EndSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        return SendSignedInAsync<object>(HttpMethod.Delete, "v1/sessions/" + Uri.EscapeDataString(sessionId), content: null, typeInfo: null, cancellationToken);
    }

    /// <summary>Ends every session of the person but this one; returns how many ended.</summary>
    public async Task<int> EndOtherSessionsAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendSignedInAsync(HttpMethod.Post, "v1/sessions/revoke-others", content: null, ClientJson.Default.RevokedResponse, cancellationToken).ConfigureAwait(false);
        return response!.Revoked;
    }

    /// <summary>
    /// "Sign out all devices": ends every session of the person, this one included, and forgets the token; returns how
    /// many ended. Like <see cref="SignOutAsync"/>, no <see cref="SessionWatcher.SessionEnded"/> follows here (the other
    /// devices get theirs).
    /// </summary>
    public async Task<int> EndAllSessionsAsync(CancellationToken cancellationToken = default)
    {
        var token = RequireToken();
        MarkEndedHere(token);
        try
        {
            var response = await SendAsync(HttpMethod.Post, "v1/sessions/revoke-all", content: null, token, ClientJson.Default.RevokedResponse, cancellationToken).ConfigureAwait(false);
            ForgetIfStored(token);
            return response!.Revoked;
        }
        catch (Exception exception) when (exception is not TesseraApiException { SessionEnded: true })
        {
            // Not done (unreachable, refused): the session holds, and its end is news again.
            UnmarkEndedHere(token);
            throw;
        }
    }

    /// <summary>
    /// Changes the password; this session stays, every other one ends (<c>password_changed</c>). Refusals:
    /// <c>weak_password</c> (the sentence says why), <c>wrong_password</c>, <c>rate_limited</c>, <c>validation_failed</c>.
    /// </summary>
    public Task ChangePasswordAsync(string currentPassword, string newPassword, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(currentPassword);
        ArgumentNullException.ThrowIfNull(newPassword);
        return SendSignedInAsync<object>(HttpMethod.Post, "v1/auth/password/change",
            JsonContent.Create(new PasswordChangeRequest(currentPassword, newPassword), ClientJson.Default.PasswordChangeRequest), typeInfo: null, cancellationToken);
    }

    /// <summary>
    /// Asks for a password reset email. Answers the same whether or not the email has an account. Refusals:
    /// <c>rate_limited</c>, <c>validation_failed</c>.
    /// </summary>
    public Task RequestPasswordResetAsync(string email, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(email);
        return SendAsync<object>(HttpMethod.Post, "v1/auth/password/reset-request",
            JsonContent.Create(new ResetRequest(email), ClientJson.Default.ResetRequest), token: null, typeInfo: null, cancellationToken);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    internal Uri Route(string path) => new(_authority, path);

    internal bool WasEndedHere(string token)
    {
        lock (_lock)
        {
            return _endedHere.Contains(token);
        }
    }

    /// <summary>
    /// The server said the session of <paramref name="ended"/>'s token is over: forget it if it is still the stored one (another copy
    /// of the app may have stored a newer one meanwhile), and tell the watchers.
    /// </summary>
    internal void OnSessionEnded(EndedSession ended)
    {
        Log.SessionEnded(_logger, _authority, ended.Reason);
        ForgetIfStored(ended.Token, notify: false);
        SessionEndedDetected?.Invoke(ended);
    }

    internal static HttpRequestMessage Request(HttpMethod method, Uri uri, string? token)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Headers.UserAgent.Add(UserAgent);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    /// <summary>The refusal in <paramref name="response"/> (a problem), as the exception the app sees.</summary>
    internal static async Task<TesseraApiException> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string? code = null, detail = null, reason = null;
        DateTimeOffset? bannedUntil = null;
        TimeSpan? retryAfter = response.Headers.RetryAfter?.Delta;
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (body.Length > 0)
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    code = StringOf(root, "code");
                    detail = StringOf(root, "detail") ?? StringOf(root, "title");
                    reason = StringOf(root, "reason");
                    if (StringOf(root, "bannedUntil") is { } until
                        && DateTimeOffset.TryParse(until, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                    {
                        bannedUntil = parsed;
                    }

                    if (retryAfter is null && root.TryGetProperty("retryAfter", out var seconds) && seconds.TryGetInt32(out var value))
                    {
                        retryAfter = TimeSpan.FromSeconds(value);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's page): no code.
        }

        if (code is null && (int)response.StatusCode >= 500)
        {
            // A gateway's or proxy's error, not Tessera's decision.
            throw new TesseraUnavailableException($"The server answered {(int)response.StatusCode} {response.ReasonPhrase} without Tessera's problem.");
        }

        return new TesseraApiException(response.StatusCode, code, detail ?? $"The server answered {(int)response.StatusCode}.", reason, bannedUntil, retryAfter);
    }

    private static string? StringOf(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private string RequireToken() =>
        TokenStore.Load() ?? throw new TesseraApiException(HttpStatusCode.Unauthorized, TesseraErrorCodes.Unauthenticated, "You are not signed in.");

    private Task<T?> SendSignedInAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T>? typeInfo, CancellationToken cancellationToken) =>
        SendAsync(method, path, content, RequireToken(), typeInfo, cancellationToken);

    /// <summary>One request, with the rule of the whole library: no answer is <see cref="TesseraUnavailableException"/>, a refusal is <see cref="TesseraApiException"/>.</summary>
    private async Task<T?> SendAsync<T>(HttpMethod method, string path, HttpContent? content, string? token, JsonTypeInfo<T>? typeInfo, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(RequestTimeout, TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var request = Request(method, Route(path), token);
        request.Content = content;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return typeInfo is null ? default : await response.Content.ReadFromJsonAsync(typeInfo, linked.Token).ConfigureAwait(false);
            }

            var problem = await ReadProblemAsync(response, linked.Token).ConfigureAwait(false);
            if (token is not null && TesseraErrorCodes.EndsSession(response.StatusCode, problem.Code))
            {
                var ended = new TesseraApiException(problem.StatusCode, problem.Code, problem.Message, problem.Reason, problem.BannedUntil, problem.RetryAfter) { SessionEnded = true };
                OnSessionEnded(new EndedSession(token, problem.Reason ?? TesseraErrorCodes.ReasonOf(problem.Code), problem.Message, problem.BannedUntil));
                throw ended;
            }

            throw problem;
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TesseraUnavailableException($"Tessera at {_authority} did not answer within {RequestTimeout.TotalSeconds:0.#} s.", exception);
        }
        catch (HttpRequestException exception) when (exception.StatusCode is null)
        {
            throw new TesseraUnavailableException($"Tessera at {_authority} cannot be reached: {exception.Message}", exception);
        }
        catch (IOException exception)
        {
            throw new TesseraUnavailableException($"The connection to Tessera at {_authority} broke: {exception.Message}", exception);
        }
        catch (JsonException exception)
        {
            throw new TesseraUnavailableException($"Tessera at {_authority} answered with a body this client cannot read: {exception.Message}", exception);
        }
    }

    private void MarkEndedHere(string token)
    {
        lock (_lock)
        {
            _endedHere.Add(token);
        }
    }

    private void UnmarkEndedHere(string token)
    {
        lock (_lock)
        {
            _endedHere.Remove(token);
        }
    }

    private void ForgetIfStored(string token, bool notify = true)
    {
        if (string.Equals(TokenStore.Load(), token, StringComparison.Ordinal))
        {
            TokenStore.Clear();
        }

        if (notify)
        {
            TokenChanged?.Invoke();
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Tessera at {Authority} ended this session ({Reason}); the stored token is forgotten.")]
    public static partial void SessionEnded(ILogger logger, Uri authority, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Following this session's events at {Authority}.")]
    public static partial void StreamLive(ILogger logger, Uri authority);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tessera at {Authority} cannot be reached ({Error}); the session stands, trying again in {Delay}.")]
    public static partial void Offline(ILogger logger, Uri authority, string error, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tessera at {Authority} refused the event stream ({Status} {Code}).")]
    public static partial void StreamRefused(ILogger logger, Uri authority, int status, string? code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The event stream at {Authority} cannot be held; checking the session every {Interval} while in the foreground instead.")]
    public static partial void Polling(ILogger logger, Uri authority, TimeSpan interval);
}

/// <summary>The end of the session of <paramref name="Token"/>, as the server told it.</summary>
internal sealed record EndedSession(string Token, string Reason, string Sentence, DateTimeOffset? BannedUntil);
