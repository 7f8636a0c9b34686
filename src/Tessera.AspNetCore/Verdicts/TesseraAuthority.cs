using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tessera.AspNetCore.Sessions;

namespace Tessera.AspNetCore.Verdicts;

/// <summary>
/// One authentication scheme's view of Tessera: its verdict cache, the open sessions it follows, and the calls that
/// ask Tessera (introspection, re-checks). The revocation listener feeds it events; the handler asks it for verdicts.
/// </summary>
internal sealed partial class TesseraAuthority : IDisposable
{
    /// <summary>How often a verdict is fetched again when events for it keep arriving meanwhile, before giving up (503).</summary>
    private const int MaxFetches = 5;

    private readonly IHttpClientFactory _httpClients;
    private readonly ILogger _logger;

    public TesseraAuthority(string scheme, TesseraAuthenticationOptions options, IHttpClientFactory httpClients, TimeProvider clock, ILogger logger)
    {
        Scheme = scheme;
        Options = options;
        Clock = clock;
        _httpClients = httpClients;
        _logger = logger;
        Cache = new VerdictCache(clock, options.VerdictCacheSize, options.MaxVerdictAge, options.BackchannelTimeout);
        BaseAddress = options.Authority!.GetLeftPart(UriPartial.Path).TrimEnd('/');
        BasicCredentials = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
            $"{Uri.EscapeDataString(options.ClientId!)}:{Uri.EscapeDataString(options.ClientSecret!)}")));
    }

    public string Scheme { get; }

    public TesseraAuthenticationOptions Options { get; }

    public TimeProvider Clock { get; }

    public VerdictCache Cache { get; }

    public SessionTracker Sessions { get; } = new();

    /// <summary>Tessera's address without a trailing slash.</summary>
    public string BaseAddress { get; }

    /// <summary><c>client_secret_basic</c>: the id and secret, each form-urlencoded, joined by ':' (RFC 6749 §2.3.1).</summary>
    public AuthenticationHeaderValue BasicCredentials { get; }

    /// <summary>The number of introspections this app made (for tests and diagnostics).</summary>
    public long Introspections => Interlocked.Read(ref _introspections);

    private long _introspections;

    /// <summary>
    /// The verdict for a token: from the cache while the lease holds, else by introspection, fetched again while an
    /// event for it arrived during the fetch. Throws <see cref="AuthorityUnavailableException"/> when Tessera cannot answer.
    /// </summary>
    public ValueTask<Verdict> GetVerdictAsync(string token, CancellationToken cancellationToken)
    {
        if (!Options.FollowRevocations)
        {
            return new ValueTask<Verdict>(FetchAsync(token, key: null, cancellationToken));
        }

        var key = VerdictKey.Of(token);
        return Cache.Find(key) is { } cached
            ? ValueTask.FromResult(cached) // nearly every request: synchronous, nothing allocated for the await
            : new ValueTask<Verdict>(FetchAsync(token, key, cancellationToken));
    }

    /// <summary>Introspects the token; keeps the verdict under <paramref name="key"/> when the app follows revocations.</summary>
    private async Task<Verdict> FetchAsync(string token, VerdictKey? key, CancellationToken cancellationToken)
    {
        for (var fetch = 0; fetch < MaxFetches; fetch++)
        {
            var sequence = Cache.Sequence;
            var started = Clock.GetTimestamp();
            var introspection = await IntrospectAsync(token, cancellationToken);
            var verdict = new Verdict(introspection, sequence);
            if (!introspection.IsUsable)
            {
                return verdict;
            }

            if (Cache.ChangedSince(verdict))
            {
                // Read perhaps before the change the event tells of: it is not used (docs/relying-apps.md).
                LogFetchedAgain(_logger, introspection.Sid!);
                if (Cache.TryGetEnd(introspection.Sid!, out var reason))
                {
                    return verdict with { KnownEnded = true, EndReason = reason };
                }

                continue;
            }

            if (key is { } cacheKey)
            {
                Cache.Add(cacheKey, verdict, started);
            }

            return verdict;
        }

        throw new AuthorityUnavailableException("Events for this session kept arriving while it was being checked.");
    }

    /// <summary><c>POST /oauth2/introspect</c> with the app's client; every failure to get an answer is <see cref="AuthorityUnavailableException"/>.</summary>
    public async Task<Introspection> IntrospectAsync(string token, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _introspections);
        using var request = new HttpRequestMessage(HttpMethod.Post, BaseAddress + "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("token", token)]),
        };
        request.Headers.Authorization = BasicCredentials;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.BackchannelTimeout);
        try
        {
            using var response = await _httpClients.CreateClient(TesseraDefaults.HttpClientName).SendAsync(request, timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var body = await response.Content.ReadAsStringAsync(timeout.Token);
                LogIntrospectionRefused(_logger, (int)response.StatusCode, body.Length > 300 ? body[..300] : body);
                throw new AuthorityUnavailableException($"Tessera answered the introspection with {(int)response.StatusCode}.");
            }

            return await response.Content.ReadFromJsonAsync<Introspection>(timeout.Token) ?? Introspection.Inactive;
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            LogUnreachable(_logger, exception.Message);
            throw new AuthorityUnavailableException("Tessera did not answer in time.", exception);
        }
        catch (HttpRequestException exception)
        {
            LogUnreachable(_logger, exception.Message);
            throw new AuthorityUnavailableException("Tessera could not be reached.", exception);
        }
        catch (System.Text.Json.JsonException exception)
        {
            LogUnreachable(_logger, exception.Message);
            throw new AuthorityUnavailableException("Tessera's answer could not be read.", exception);
        }
    }

    /// <summary>
    /// A <c>revoked</c> event: marks what it names (before the event is acknowledged), ends the open requests of the
    /// named sessions, and, when the user changed, re-checks the user's other open sessions.
    /// </summary>
    public void ApplyRevoked(string? userId, IReadOnlyCollection<string> sessionIds, string? reason, bool userChanged, TimeSpan settle)
    {
        Cache.ApplyRevoked(userId, sessionIds, reason, userChanged, settle);
        foreach (var sid in sessionIds)
        {
            foreach (var session in Sessions.OfSession(sid))
            {
                session.End(reason);
            }
        }

        if (userChanged && userId is not null)
        {
            var named = sessionIds.ToHashSet(StringComparer.Ordinal);
            Recheck([.. Sessions.OfUser(userId).Where(session => !named.Contains(session.SessionId))], reason);
        }
    }

    /// <summary>A <c>reset</c>: every verdict dropped, every open session re-checked (events may have been missed).</summary>
    public void ApplyReset()
    {
        Cache.Reset();
        Recheck(Sessions.All(), reason: null);
    }

    /// <summary>Starts following an open session for the rest of the request; ends it at once when it is already known to have ended.</summary>
    public TesseraSession Track(string sessionId, string userId, string token, Verdict verdict)
    {
        var session = new TesseraSession(sessionId, userId, token);
        Sessions.Add(session);
        // An event applied between the verdict and now would have found nothing to end.
        if (Cache.ChangedSince(verdict))
        {
            if (Cache.TryGetEnd(sessionId, out var reason))
            {
                session.End(reason);
            }
            else
            {
                Recheck([session], reason: null);
            }
        }

        return session;
    }

    public void Untrack(TesseraSession session) => Sessions.Remove(session);

    /// <summary>Introspects each session in the background and ends the ones that no longer hold.</summary>
    private void Recheck(TesseraSession[] sessions, string? reason)
    {
        if (sessions.Length == 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            await Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (session, cancellationToken) =>
            {
                if (session.HasEnded)
                {
                    return;
                }

                for (var attempt = 0; attempt < 3; attempt++)
                {
                    try
                    {
                        var introspection = await IntrospectAsync(session.Token, cancellationToken);
                        if (!introspection.IsUsable || introspection.Sid != session.SessionId)
                        {
                            session.End(Cache.TryGetEnd(session.SessionId, out var known) && known is not null ? known : reason);
                        }

                        return;
                    }
                    catch (AuthorityUnavailableException)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(200 * (attempt + 1)), Clock, cancellationToken);
                    }
                }
            });
        });
    }

    public void Dispose() => Cache.Dispose();

    [LoggerMessage(Level = LogLevel.Debug, Message = "A verdict for session {SessionId} was fetched while an event for it arrived; it is fetched again.")]
    private static partial void LogFetchedAgain(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tessera refused the introspection with {Status}: {Body}. Check Tessera:ClientId, Tessera:ClientSecret and the client's 'introspect' scope.")]
    private static partial void LogIntrospectionRefused(ILogger logger, int status, string body);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tessera could not be asked about a session: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string error);
}
