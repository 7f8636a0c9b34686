using System.Diagnostics.Metrics;
using Tessera.Core.Sessions;

namespace Tessera.Core.Diagnostics;

/// <summary>
/// Tessera's counters, published on the "Tessera" meter. The hot-path counters are plain interlocked fields read
/// by observable instruments at scrape time, so that a session check costs no allocation and no listener call.
/// </summary>
public sealed class TesseraMetrics : IDisposable
{
    public const string MeterName = "Tessera";

    private readonly long[] _checksByVerdict = new long[Enum.GetValues<SessionVerdictKind>().Length];
    private readonly long[] _revocationsByReason = new long[Enum.GetValues<RevocationReason>().Length];
    private readonly Meter _meter;
    private long _cacheHits;
    private long _cacheMisses;
    private long _openEventStreams;
    private long _loginFailures;
    private long _loginsThrottled;

    public TesseraMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableCounter("tessera.session.checks", ObserveChecks, "{check}", "Session checks by result.");
        _meter.CreateObservableCounter("tessera.session.revocations", ObserveRevocations, "{session}", "Sessions revoked, by reason.");
        _meter.CreateObservableCounter("tessera.session_cache.hits", () => Interlocked.Read(ref _cacheHits), "{lookup}", "Session checks answered from memory.");
        _meter.CreateObservableCounter("tessera.session_cache.misses", () => Interlocked.Read(ref _cacheMisses), "{lookup}", "Session checks that read the store.");
        _meter.CreateObservableUpDownCounter("tessera.event_streams.open", () => Interlocked.Read(ref _openEventStreams), "{stream}", "Open /v1/events streams on this node.");
        _meter.CreateObservableCounter("tessera.login.failures", () => Interlocked.Read(ref _loginFailures), "{attempt}", "Failed logins (wrong email or password).");
        _meter.CreateObservableCounter("tessera.login.throttled", () => Interlocked.Read(ref _loginsThrottled), "{attempt}", "Logins refused by throttling.");
    }

    public long CacheHits => Interlocked.Read(ref _cacheHits);

    public long CacheMisses => Interlocked.Read(ref _cacheMisses);

    public void SessionChecked(SessionVerdictKind verdict) => Interlocked.Increment(ref _checksByVerdict[(int)verdict]);

    public void CacheHit() => Interlocked.Increment(ref _cacheHits);

    public void CacheMiss() => Interlocked.Increment(ref _cacheMisses);

    public void SessionsRevoked(RevocationReason reason, int count) => Interlocked.Add(ref _revocationsByReason[(int)reason], count);

    public void EventStreamOpened() => Interlocked.Increment(ref _openEventStreams);

    public void EventStreamClosed() => Interlocked.Decrement(ref _openEventStreams);

    public void LoginFailed() => Interlocked.Increment(ref _loginFailures);

    public void LoginThrottled() => Interlocked.Increment(ref _loginsThrottled);

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> ObserveChecks()
    {
        foreach (var verdict in Enum.GetValues<SessionVerdictKind>())
        {
            yield return new(Interlocked.Read(ref _checksByVerdict[(int)verdict]), new KeyValuePair<string, object?>("result", ResultName(verdict)));
        }
    }

    private IEnumerable<Measurement<long>> ObserveRevocations()
    {
        foreach (var reason in Enum.GetValues<RevocationReason>())
        {
            yield return new(Interlocked.Read(ref _revocationsByReason[(int)reason]), new KeyValuePair<string, object?>("reason", reason.ToWireName()));
        }
    }

    private static string ResultName(SessionVerdictKind verdict) => verdict switch
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
