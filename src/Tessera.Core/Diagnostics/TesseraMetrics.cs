using System.Diagnostics.Metrics;
using Tessera.Core.Sessions;

namespace Tessera.Core.Diagnostics;

/// <summary>
/// Tessera's counters. They are plain interlocked fields that an exporter reads when it is scraped, so that a
/// session check pays one interlocked increment and no allocation or listener call. The durations of access changes
/// (rare, and worth a distribution) are .NET histograms on <see cref="Meter"/>, one meter per instance, so that an
/// exporter listens to its own node only.
/// </summary>
public sealed class TesseraMetrics : IDisposable
{
    /// <summary>The instrument names of <see cref="Meter"/>.</summary>
    public const string AccessChangeStoreDuration = "tessera.access_change.store.duration";

    public const string AccessChangePublishDuration = "tessera.access_change.publish.duration";

    private readonly Histogram<double> _accessChangeStored;
    private readonly Histogram<double> _accessChangePublished;
    private readonly long[] _checksByVerdict = new long[Enum.GetValues<SessionVerdictKind>().Length];
    private readonly long[] _revocationsByReason = new long[Enum.GetValues<RevocationReason>().Length];
    private long _cacheHits;
    private long _cacheMisses;
    private long _openEventStreams;
    private long _loginFailures;
    private long _loginsThrottled;

    public TesseraMetrics()
    {
        Meter = new Meter("Tessera");
        _accessChangeStored = Meter.CreateHistogram<double>(
            AccessChangeStoreDuration, "s", "An access change's write transaction, from its start to its commit.");
        _accessChangePublished = Meter.CreateHistogram<double>(
            AccessChangePublishDuration, "s", "Telling every node of a committed access change, until each confirmed it (or the deadline).");
    }

    public Meter Meter { get; }

    public long CacheHits => Interlocked.Read(ref _cacheHits);

    public long CacheMisses => Interlocked.Read(ref _cacheMisses);

    public long OpenEventStreams => Interlocked.Read(ref _openEventStreams);

    public long LoginFailures => Interlocked.Read(ref _loginFailures);

    public long LoginsThrottled => Interlocked.Read(ref _loginsThrottled);

    public long SessionChecks(SessionVerdictKind verdict) => Interlocked.Read(ref _checksByVerdict[(int)verdict]);

    public long Revocations(RevocationReason reason) => Interlocked.Read(ref _revocationsByReason[(int)reason]);

    public void SessionChecked(SessionVerdictKind verdict) => Interlocked.Increment(ref _checksByVerdict[(int)verdict]);

    public void CacheHit() => Interlocked.Increment(ref _cacheHits);

    public void CacheMiss() => Interlocked.Increment(ref _cacheMisses);

    public void SessionsRevoked(RevocationReason reason, int count) => Interlocked.Add(ref _revocationsByReason[(int)reason], count);

    public void EventStreamOpened() => Interlocked.Increment(ref _openEventStreams);

    public void EventStreamClosed() => Interlocked.Decrement(ref _openEventStreams);

    public void LoginFailed() => Interlocked.Increment(ref _loginFailures);

    public void LoginThrottled() => Interlocked.Increment(ref _loginsThrottled);

    public void AccessChangeStored(TimeSpan took) => _accessChangeStored.Record(took.TotalSeconds);

    public void AccessChangePublished(TimeSpan took) => _accessChangePublished.Record(took.TotalSeconds);

    public void Dispose() => Meter.Dispose();

    /// <summary>The label value for a check result, as exporters show it.</summary>
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
