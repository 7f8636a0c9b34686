using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using Tessera.Core.Diagnostics;
using Tessera.Redis;

namespace Tessera.Server.Operations;

/// <summary>
/// Exports this node's <see cref="TesseraMetrics.Meter"/> at <c>/metrics</c> with OpenTelemetry's Prometheus exporter.
/// </summary>
/// <remarks>
/// Why OpenTelemetry's exporter, though it is only published as a beta, rather than prometheus-net's meter adapter
/// (stable, and already referenced before): prometheus-net 8.2.1's adapter writes every .NET counter as a Prometheus
/// <em>gauge</em> (<c>rate()</c> and <c>increase()</c> over a gauge are wrong, and the tests and dashboards expect
/// <c># TYPE ... counter</c>), names series <c>meter_instrument</c> without <c>_total</c> or a unit (so every name in
/// <c>/metrics</c> would have changed), and drops a series that has not changed for 5 minutes (a quiet counter such
/// as <c>tessera_node_fences_total</c> would come and go). OpenTelemetry's exporter keeps counters as counters with
/// <c>_total</c>, histograms in <c>_seconds</c>, and so every series name Tessera published before; and the pipeline
/// that feeds it is the one an OTLP exporter joins to send the same numbers to a collector. The version is pinned
/// exactly (<c>Directory.Packages.props</c>); the server and cluster tests assert the exposition (names, types, labels),
/// so an upgrade that changes it fails there.
/// </remarks>
internal static class MetricsExport
{
    /// <summary>The name OpenTelemetry's <see cref="IMetricsListener"/> registers under.</summary>
    private const string OpenTelemetryListener = "OpenTelemetry";

    /// <summary>From 0.25 ms to about 4 s: a commit on loopback to a publish that waited out its acknowledgement deadline.</summary>
    private static readonly double[] DurationBuckets = [.. Enumerable.Range(0, 15).Select(i => 0.00025 * Math.Pow(2, i))];

    public static IServiceCollection AddTesseraMetrics(this IServiceCollection services)
    {
        // Local: only the meter this container's IMeterFactory made, so several servers in one process (the tests)
        // each export their own node. System.Runtime is .NET's own meter (GC, memory, CPU, thread pool), global.
        services.AddMetrics(metrics => metrics
            .EnableMetrics(TesseraMetrics.MeterName, instrumentName: null, OpenTelemetryListener, MeterScope.Local)
            .EnableMetrics("System.Runtime", instrumentName: null, OpenTelemetryListener, MeterScope.Global));
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            // The series names Tessera published before the meter was the only source.
            .AddView(TesseraMetrics.AccessChangeStoreDuration, Seconds("tessera.access_change.store"))
            .AddView(TesseraMetrics.AccessChangePublishDuration, Seconds("tessera.access_change.publish"))
            .AddView(TesseraMetrics.RelyingAppsWaitDuration, Seconds("tessera.relying_apps.wait"))
            .AddPrometheusExporter(prometheus =>
            {
                // Each scrape reads the instruments: a test (or an operator) that acts then scrapes sees the act.
                prometheus.ScrapeResponseCacheDurationMilliseconds = 0;

                // No otel_scope_* labels on every sample and no target_info series: the exposition stays as it was.
                prometheus.ScopeInfoEnabled = false;
                prometheus.TargetInfoEnabled = false;
            }));
        return services;
    }

    public static IEndpointRouteBuilder MapTesseraMetrics(this IEndpointRouteBuilder endpoints, string path)
    {
        var services = endpoints.ServiceProvider;
        if (services.GetService<RedisClusterState>() is { } cluster)
        {
            ClusterInstruments.Register(services.GetRequiredService<TesseraMetrics>().Meter, cluster);
        }

        endpoints.MapPrometheusScrapingEndpoint(path);
        return endpoints;
    }

    private static ExplicitBucketHistogramConfiguration Seconds(string name) => new() { Name = name, Boundaries = DurationBuckets };
}

/// <summary>
/// The cluster's instruments, on the node's one meter. <see cref="RedisClusterState"/> keeps each of these counts (the
/// Redis tests and <c>/readyz</c> read them there); the instruments observe them when a listener collects, so each
/// number is kept once.
/// </summary>
internal static class ClusterInstruments
{
    public static void Register(Meter meter, RedisClusterState cluster)
    {
        meter.CreateObservableGauge(
            "tessera.bus.lag", () => cluster.LastPingRoundTrip?.TotalSeconds ?? double.NaN, "s", "Round trip of this node's last ping through the Redis bus.");
        meter.CreateObservableGauge(
            "tessera.cluster.live_nodes", () => cluster.LiveNodes.Count, description: "Nodes whose heartbeat Redis saw recently, this one included.");
        meter.CreateObservableCounter(
            "tessera.node.fences", () => cluster.Fences, description: "Times this node stopped serving from memory because it could not prove it hears the bus.");
        meter.CreateObservableCounter(
            "tessera.bus.acks_awaited", () => cluster.AcksAwaited, description: "Acknowledgements this node's invalidations waited for.");
        meter.CreateObservableCounter(
            "tessera.bus.acks_received", () => cluster.AcksReceived, description: "Acknowledgements that arrived before the deadline.");
        meter.CreateObservableCounter(
            "tessera.bus.silent_nodes", () => cluster.FencedNodes, description: "Nodes that stayed silent until a publish's deadline and were taken as fenced.");
        meter.CreateObservableCounter(
            "tessera.bus.invalidations_received", () => cluster.InvalidationsReceived, description: "Invalidations from other nodes applied here.");
        meter.CreateObservableCounter(
            "tessera.shared_cache.lookups",
            () => new Measurement<long>[]
            {
                new(cluster.SharedCacheHits, new KeyValuePair<string, object?>("result", "hit")),
                new(cluster.SharedCacheMisses, new KeyValuePair<string, object?>("result", "miss")),
                new(cluster.SharedCacheErrors, new KeyValuePair<string, object?>("result", "error")),
            },
            description: "Misses in this node's memory looked up in the shared session cache in Redis, by result.");
    }
}
