using System.Diagnostics.Metrics;
using Prometheus;
using Tessera.Core.Caching;
using Tessera.Core.Diagnostics;
using Tessera.Core.Sessions;
using Tessera.Redis;

namespace Tessera.Server.Operations;

/// <summary>
/// Publishes Tessera's counters in Prometheus form at scrape time, with the .NET process and runtime metrics
/// beside them. One registry per server, so that several servers in one process (the tests) do not mix.
/// </summary>
internal sealed class PrometheusExport : IDisposable
{
    private readonly MeterListener _durations = new();

    public PrometheusExport(TesseraMetrics metrics, SessionCache cache, RedisClusterState? cluster = null)
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
        var hitRatio = factory.CreateGauge("tessera_session_cache_hit_ratio", "Share of session checks answered from this node's memory since start.");
        var trusted = factory.CreateGauge("tessera_session_cache_trusted", "1 while this node serves checks from memory, 0 while it reads every check from the store.");
        if (cluster is not null)
        {
            RegisterCluster(factory, cluster);
        }

        ListenToDurations(factory, metrics);

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
            var lookups = metrics.CacheHits + metrics.CacheMisses;
            hitRatio.Set(lookups == 0 ? 0 : (double)metrics.CacheHits / lookups);
            trusted.Set(cache.IsTrusted ? 1 : 0);
        });
    }

    private void RegisterCluster(MetricFactory factory, RedisClusterState cluster)
    {
        var lag = factory.CreateGauge("tessera_bus_lag_seconds", "Round trip of this node's last ping through the Redis bus.");
        var live = factory.CreateGauge("tessera_cluster_live_nodes", "Nodes whose heartbeat Redis saw recently, this one included.");
        var fences = factory.CreateCounter("tessera_node_fences_total", "Times this node stopped serving from memory because it could not prove it hears the bus.");
        var awaited = factory.CreateCounter("tessera_bus_acks_awaited_total", "Acknowledgements this node's invalidations waited for.");
        var received = factory.CreateCounter("tessera_bus_acks_received_total", "Acknowledgements that arrived before the deadline.");
        var fencedNodes = factory.CreateCounter("tessera_bus_silent_nodes_total", "Nodes that stayed silent until a publish's deadline and were taken as fenced.");
        var applied = factory.CreateCounter("tessera_bus_invalidations_received_total", "Invalidations from other nodes applied here.");
        var shared = factory.CreateCounter(
            "tessera_shared_cache_lookups_total", "Misses in this node's memory looked up in the shared session cache in Redis, by result.", "result");
        Registry.AddBeforeCollectCallback(() =>
        {
            lag.Set(cluster.LastPingRoundTrip?.TotalSeconds ?? double.NaN);
            live.Set(cluster.LiveNodes.Count);
            fences.IncTo(cluster.Fences);
            awaited.IncTo(cluster.AcksAwaited);
            received.IncTo(cluster.AcksReceived);
            fencedNodes.IncTo(cluster.FencedNodes);
            applied.IncTo(cluster.InvalidationsReceived);
            shared.WithLabels("hit").IncTo(cluster.SharedCacheHits);
            shared.WithLabels("miss").IncTo(cluster.SharedCacheMisses);
            shared.WithLabels("error").IncTo(cluster.SharedCacheErrors);
        });
    }

    public CollectorRegistry Registry { get; }

    public void Dispose() => _durations.Dispose();

    /// <summary>Carries the access changes' durations from this node's meter (and no other's) into histograms.</summary>
    private void ListenToDurations(MetricFactory factory, TesseraMetrics metrics)
    {
        // From 0.25 ms to about 4 s: a commit on loopback to a publish that waited out its acknowledgement deadline.
        var buckets = new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00025, 2, 15) };
        var histograms = new Dictionary<string, Histogram>(StringComparer.Ordinal)
        {
            [TesseraMetrics.AccessChangeStoreDuration] = factory.CreateHistogram(
                "tessera_access_change_store_seconds", "An access change's write transaction (revocations, bans, password changes...), start to commit.", buckets),
            [TesseraMetrics.AccessChangePublishDuration] = factory.CreateHistogram(
                "tessera_access_change_publish_seconds", "Telling every node of a committed access change, until each confirmed it or the deadline passed.", buckets),
        };
        _durations.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter) && histograms.TryGetValue(instrument.Name, out var histogram))
            {
                listener.EnableMeasurementEvents(instrument, histogram);
            }
        };
        _durations.SetMeasurementEventCallback<double>(static (_, value, _, state) => ((Histogram)state!).Observe(value));
        _durations.Start();
    }
}
