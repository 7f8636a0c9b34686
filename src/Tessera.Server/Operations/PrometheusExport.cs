using Prometheus;
using Tessera.Core.Caching;
using Tessera.Core.Diagnostics;
using Tessera.Core.Sessions;

namespace Tessera.Server.Operations;

/// <summary>
/// Publishes Tessera's counters in Prometheus form at scrape time, with the .NET process and runtime metrics
/// beside them. One registry per server, so that several servers in one process (the tests) do not mix.
/// </summary>
internal sealed class PrometheusExport
{
    public PrometheusExport(TesseraMetrics metrics, SessionCache cache)
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);
        var checks = factory.CreateCounter("tessera_session_checks_total", "Session checks, by result.", "result");
        var revocations = factory.CreateCounter("tessera_session_revocations_total", "Sessions revoked, by reason.", "reason");
        var hits = factory.CreateCounter("tessera_session_cache_hits_total", "Session checks answered from this node's memory.");
        var misses = factory.CreateCounter("tessera_session_cache_misses_total", "Session checks that read the store.");
        var cached = factory.CreateGauge("tessera_session_cache_entries", "Sessions held in this node's memory.");
        var streams = factory.CreateGauge("tessera_event_streams_open", "Open /v1/events streams on this node.");
        var loginFailures = factory.CreateCounter("tessera_login_failures_total", "Failed logins (wrong email or password).");
        var throttled = factory.CreateCounter("tessera_login_throttled_total", "Logins refused by throttling.");

        Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var verdict in Enum.GetValues<SessionVerdictKind>())
            {
                checks.WithLabels(TesseraMetrics.ResultName(verdict)).IncTo(metrics.SessionChecks(verdict));
            }

            foreach (var reason in Enum.GetValues<RevocationReason>())
            {
                revocations.WithLabels(reason.ToWireName()).IncTo(metrics.Revocations(reason));
            }

            hits.IncTo(metrics.CacheHits);
            misses.IncTo(metrics.CacheMisses);
            cached.Set(cache.Count);
            streams.Set(metrics.OpenEventStreams);
            loginFailures.IncTo(metrics.LoginFailures);
            throttled.IncTo(metrics.LoginsThrottled);
        });
    }

    public CollectorRegistry Registry { get; }
}
