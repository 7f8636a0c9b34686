using System.Diagnostics.Metrics;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;

namespace Tessera.Core.Diagnostics;

/// <summary>
/// Tessera's instruments, defined once, on one <see cref="System.Diagnostics.Metrics.Meter"/> named
/// <see cref="MeterName"/>. The server's <c>/metrics</c> and any OpenTelemetry collector read the same instruments
/// through a listener, and tests read them with a <c>MetricCollector</c>: there is no other way to read a count. The
/// meter comes from the container's <see cref="IMeterFactory"/>, so several servers in one process (the tests) each
/// have their own, and an exporter can listen to its own node only.
/// </summary>
/// <remarks>
/// <para>
/// The counts are observable instruments over fields of this class: a session check pays one interlocked increment,
/// with no listener call and no tag lookup, and a listener reads the fields when it collects. A synchronous
/// <see cref="Counter{T}"/> with OpenTelemetry listening costs several times that on every check (its tag lookup and
/// aggregation: about 150 ns for the two a hit makes, against about 20 ns for two interlocked increments, on the shared
/// 2-core development machine), where the whole hit path is about 600 ns (docs/performance.md). Observing also shows
/// every result and reason from the first collection, at 0. Durations are histograms, recorded as they happen.
/// </para>
/// <para>
/// The names follow OpenTelemetry's dotted form; the Prometheus exporter turns dots into underscores and adds
/// <c>_total</c> to counters and <c>_seconds</c> to instruments in seconds, so <c>tessera.session.cache.hits</c> is
/// scraped as <c>tessera_session_cache_hits_total</c>.
/// </para>
/// </remarks>
public sealed class TesseraMetrics
{
    public const string MeterName = "Tessera";

    /// <summary>Session checks, tagged <c>result</c> (<see cref="ResultName"/>).</summary>
    public const string SessionChecks = "tessera.session.checks";

    /// <summary>Sessions revoked, tagged <c>reason</c> (the wire name of the <see cref="RevocationReason"/>).</summary>
    public const string SessionRevocations = "tessera.session.revocations";

    public const string CacheHits = "tessera.session.cache.hits";

    public const string CacheMisses = "tessera.session.cache.misses";

    public const string CacheHitRatio = "tessera.session.cache.hit_ratio";

    public const string CacheEntries = "tessera.session.cache.entries";

    public const string CacheTrusted = "tessera.session.cache.trusted";

    public const string EventStreamsOpen = "tessera.event_streams.open";

    public const string RevocationStreamsOpen = "tessera.revocation_streams.open";

    /// <summary>How long revoking calls waited for relying apps to confirm (or for their leases to run out).</summary>
    public const string RelyingAppsWaitDuration = "tessera.relying_apps.wait.duration";

    public const string LoginFailures = "tessera.login.failures";

    public const string LoginsThrottled = "tessera.login.throttled";

    public const string AccessChangeStoreDuration = "tessera.access_change.store.duration";

    public const string AccessChangePublishDuration = "tessera.access_change.publish.duration";

    public const string ResultTag = "result";

    public const string ReasonTag = "reason";

    private static readonly SessionVerdictKind[] Verdicts = Enum.GetValues<SessionVerdictKind>();
    private static readonly RevocationReason[] Reasons = Enum.GetValues<RevocationReason>();

    private readonly long[] _checksByVerdict = new long[Verdicts.Length];
    private readonly long[] _revocationsByReason = new long[Reasons.Length];
    private readonly Histogram<double> _accessChangeStored;
    private readonly Histogram<double> _accessChangePublished;
    private readonly Histogram<double> _relyingAppsWaited;
    private long _cacheHits;
    private long _cacheMisses;
    private long _openEventStreams;
    private long _openRevocationStreams;
    private long _loginFailures;
    private long _loginsThrottled;

    public TesseraMetrics(IMeterFactory meters, SessionCache cache)
    {
        Meter = meters.Create(MeterName);
        Meter.CreateObservableCounter(
            SessionChecks, () => ByTag(_checksByVerdict, Verdicts, ResultTag, ResultName), description: "Session checks, by result.");
        Meter.CreateObservableCounter(
            SessionRevocations, () => ByTag(_revocationsByReason, Reasons, ReasonTag, RevocationReasons.ToWireName), description: "Sessions revoked, by reason.");
        Meter.CreateObservableCounter(CacheHits, () => Interlocked.Read(ref _cacheHits), description: "Session checks answered from this node's memory.");
        Meter.CreateObservableCounter(CacheMisses, () => Interlocked.Read(ref _cacheMisses), description: "Session checks that read the store.");
        Meter.CreateObservableGauge(CacheHitRatio, HitRatio, description: "Share of session checks answered from this node's memory since start.");
        Meter.CreateObservableGauge(CacheEntries, () => cache.Count, description: "Sessions held in this node's memory.");
        Meter.CreateObservableGauge(
            CacheTrusted, () => cache.IsTrusted ? 1 : 0, description: "1 while this node serves checks from memory, 0 while it reads every check from the store.");
        Meter.CreateObservableUpDownCounter(
            EventStreamsOpen, () => Interlocked.Read(ref _openEventStreams), description: "Open /v1/events streams on this node.");
        Meter.CreateObservableGauge(
            RevocationStreamsOpen, () => Interlocked.Read(ref _openRevocationStreams), description: "Open /v1/revocations streams of relying apps on this node.");
        Meter.CreateObservableCounter(LoginFailures, () => Interlocked.Read(ref _loginFailures), description: "Failed logins (wrong email or password).");
        Meter.CreateObservableCounter(LoginsThrottled, () => Interlocked.Read(ref _loginsThrottled), description: "Logins refused by throttling.");
        _accessChangeStored = Meter.CreateHistogram<double>(
            AccessChangeStoreDuration, "s", "An access change's write transaction (revocations, bans, password changes...), start to commit.");
        _accessChangePublished = Meter.CreateHistogram<double>(
            AccessChangePublishDuration, "s", "Telling every node of a committed access change, until each confirmed it or the deadline passed.");
        _relyingAppsWaited = Meter.CreateHistogram<double>(
            RelyingAppsWaitDuration, "s", "A revoking call's wait for the relying apps that follow this node's revocation stream to confirm, or for their leases to run out.");
    }

    /// <summary>This node's meter; cluster parts add their instruments to it.</summary>
    public Meter Meter { get; }

    public void SessionChecked(SessionVerdictKind verdict) => Interlocked.Increment(ref _checksByVerdict[(int)verdict]);

    public void CacheHit() => Interlocked.Increment(ref _cacheHits);

    public void CacheMiss() => Interlocked.Increment(ref _cacheMisses);

    public void SessionsRevoked(RevocationReason reason, int count) => Interlocked.Add(ref _revocationsByReason[(int)reason], count);

    public void EventStreamOpened() => Interlocked.Increment(ref _openEventStreams);

    public void EventStreamClosed() => Interlocked.Decrement(ref _openEventStreams);

    public void RevocationStreamOpened() => Interlocked.Increment(ref _openRevocationStreams);

    public void RevocationStreamClosed() => Interlocked.Decrement(ref _openRevocationStreams);

    public void RelyingAppsWaited(TimeSpan took) => _relyingAppsWaited.Record(took.TotalSeconds);

    public void LoginFailed() => Interlocked.Increment(ref _loginFailures);

    public void LoginThrottled() => Interlocked.Increment(ref _loginsThrottled);

    public void AccessChangeStored(TimeSpan took) => _accessChangeStored.Record(took.TotalSeconds);

    public void AccessChangePublished(TimeSpan took) => _accessChangePublished.Record(took.TotalSeconds);

    private double HitRatio()
    {
        var hits = Interlocked.Read(ref _cacheHits);
        var lookups = hits + Interlocked.Read(ref _cacheMisses);
        return lookups == 0 ? 0 : (double)hits / lookups;
    }

    private static Measurement<long>[] ByTag<T>(long[] counts, T[] keys, string tag, Func<T, string> name)
    {
        var measurements = new Measurement<long>[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            measurements[i] = new Measurement<long>(Interlocked.Read(ref counts[i]), new KeyValuePair<string, object?>(tag, name(keys[i])));
        }

        return measurements;
    }

    /// <summary>The tag value for a check result, as exporters show it.</summary>
    public static string ResultName(SessionVerdictKind verdict) => verdict switch
    {
        SessionVerdictKind.Valid => "valid",
        SessionVerdictKind.Unauthenticated => "unauthenticated",
        SessionVerdictKind.Revoked => "revoked",
        SessionVerdictKind.Expired => "expired",
        SessionVerdictKind.AccountDeactivated => "account_deactivated",
        SessionVerdictKind.AccountBanned => "account_banned",
        SessionVerdictKind.AccountDeleted => "account_deleted",
        _ => "other",
    };
}
