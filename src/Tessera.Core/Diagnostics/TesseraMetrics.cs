using System.Diagnostics.Metrics;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;

namespace Tessera.Core.Diagnostics;

/// <summary>
/// Tessera's instruments, defined once, on one <see cref="System.Diagnostics.Metrics.Meter"/> named
/// <see cref="MeterName"/>. Every count lives in its instrument and nowhere else: the server's <c>/metrics</c> and any
/// OpenTelemetry collector read the same measurements through a listener, and tests read them with a
/// <c>MetricCollector</c>. The meter comes from the container's <see cref="IMeterFactory"/>, so several servers in one
/// process (the tests) each have their own, and an exporter can listen to its own node only.
/// </summary>
/// <remarks>
/// The instrument names follow OpenTelemetry's dotted form; the Prometheus exporter turns dots into underscores and
/// adds <c>_total</c> to counters and <c>_seconds</c> to instruments in seconds, so
/// <c>tessera.session.cache.hits</c> is scraped as <c>tessera_session_cache_hits_total</c>. With no listener an
/// instrument costs a check of one field, so the hot path pays nothing when nobody reads the metrics.
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

    public const string CacheEntries = "tessera.session.cache.entries";

    public const string CacheTrusted = "tessera.session.cache.trusted";

    public const string EventStreamsOpen = "tessera.event_streams.open";

    public const string LoginFailures = "tessera.login.failures";

    public const string LoginsThrottled = "tessera.login.throttled";

    public const string AccessChangeStoreDuration = "tessera.access_change.store.duration";

    public const string AccessChangePublishDuration = "tessera.access_change.publish.duration";

    public const string ResultTag = "result";

    public const string ReasonTag = "reason";

    private readonly Counter<long> _checks;
    private readonly Counter<long> _revocations;
    private readonly Counter<long> _cacheHits;
    private readonly Counter<long> _cacheMisses;
    private readonly UpDownCounter<long> _openEventStreams;
    private readonly Counter<long> _loginFailures;
    private readonly Counter<long> _loginsThrottled;
    private readonly Histogram<double> _accessChangeStored;
    private readonly Histogram<double> _accessChangePublished;

    public TesseraMetrics(IMeterFactory meters, SessionCache cache)
    {
        Meter = meters.Create(MeterName);
        _checks = Meter.CreateCounter<long>(SessionChecks, description: "Session checks, by result.");
        _revocations = Meter.CreateCounter<long>(SessionRevocations, description: "Sessions revoked, by reason.");
        _cacheHits = Meter.CreateCounter<long>(CacheHits, description: "Session checks answered from this node's memory.");
        _cacheMisses = Meter.CreateCounter<long>(CacheMisses, description: "Session checks that read the store.");
        _openEventStreams = Meter.CreateUpDownCounter<long>(EventStreamsOpen, description: "Open /v1/events streams on this node.");
        _loginFailures = Meter.CreateCounter<long>(LoginFailures, description: "Failed logins (wrong email or password).");
        _loginsThrottled = Meter.CreateCounter<long>(LoginsThrottled, description: "Logins refused by throttling.");
        _accessChangeStored = Meter.CreateHistogram<double>(
            AccessChangeStoreDuration, "s", "An access change's write transaction (revocations, bans, password changes...), start to commit.");
        _accessChangePublished = Meter.CreateHistogram<double>(
            AccessChangePublishDuration, "s", "Telling every node of a committed access change, until each confirmed it or the deadline passed.");
        Meter.CreateObservableGauge(CacheEntries, () => cache.Count, description: "Sessions held in this node's memory.");
        Meter.CreateObservableGauge(
            CacheTrusted, () => cache.IsTrusted ? 1 : 0, description: "1 while this node serves checks from memory, 0 while it reads every check from the store.");
    }

    /// <summary>This node's meter; cluster parts add their instruments to it.</summary>
    public Meter Meter { get; }

    public void SessionChecked(SessionVerdictKind verdict) => _checks.Add(1, new KeyValuePair<string, object?>(ResultTag, ResultName(verdict)));

    public void CacheHit() => _cacheHits.Add(1);

    public void CacheMiss() => _cacheMisses.Add(1);

    public void SessionsRevoked(RevocationReason reason, int count) =>
        _revocations.Add(count, new KeyValuePair<string, object?>(ReasonTag, reason.ToWireName()));

    public void EventStreamOpened() => _openEventStreams.Add(1);

    public void EventStreamClosed() => _openEventStreams.Add(-1);

    public void LoginFailed() => _loginFailures.Add(1);

    public void LoginThrottled() => _loginsThrottled.Add(1);

    public void AccessChangeStored(TimeSpan took) => _accessChangeStored.Record(took.TotalSeconds);

    public void AccessChangePublished(TimeSpan took) => _accessChangePublished.Record(took.TotalSeconds);

    /// <summary>
    /// Adds zero to every series of the tagged counters and to the untagged ones, so that a listener started before
    /// this call shows each check result and revocation reason from the start (a dashboard's rate over a series that
    /// appears only with its first event misses that event). Call it once the exporter listens.
    /// </summary>
    public void RecordZeroForEverySeries()
    {
        foreach (var verdict in Enum.GetValues<SessionVerdictKind>())
        {
            _checks.Add(0, new KeyValuePair<string, object?>(ResultTag, ResultName(verdict)));
        }

        foreach (var reason in Enum.GetValues<RevocationReason>())
        {
            _revocations.Add(0, new KeyValuePair<string, object?>(ReasonTag, reason.ToWireName()));
        }

        _cacheHits.Add(0);
        _cacheMisses.Add(0);
        _openEventStreams.Add(0);
        _loginFailures.Add(0);
        _loginsThrottled.Add(0);
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
