using Microsoft.Extensions.Diagnostics.HealthChecks;
using Scalar.AspNetCore;
using Tessera.Core.Storage;

namespace Tessera.Server.Operations;

/// <summary>
/// /healthz (the process is up), /readyz (the store answers), /metrics (Prometheus), /openapi/v1.json, and the
/// interactive API reference at /scalar.
/// </summary>
internal static class OperationsApi
{
    public const string ReadyTag = "ready";

    /// <summary>The interactive API reference (Scalar); docs/api.md is the written one.</summary>
    public const string ApiReferencePath = "/scalar";

    private const string OpenApiRoute = "/openapi/{documentName}.json";

    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", new() { Predicate = _ => false });
        endpoints.MapHealthChecks("/readyz", new() { Predicate = check => check.Tags.Contains(ReadyTag) });
        endpoints.MapTesseraMetrics("/metrics");
        endpoints.MapOpenApi(OpenApiRoute);

        // Scalar's page and script come from its NuGet package and are served from here (no CDN), and nothing it does
        // unasked leaves the machine: no fonts from a CDN, no telemetry, no AI chat or MCP calls to scalar.com. It reads
        // the document above. No request proxy is configured: "Try it" requests go from the browser to this server.
        endpoints.MapScalarApiReference(ApiReferencePath, scalar =>
        {
            scalar.WithTitle("Tessera API").WithOpenApiRoutePattern(OpenApiRoute).DisableAgent().DisableMcp();
            scalar.DefaultFonts = false;
            scalar.Telemetry = false;
            scalar.ProxyUrl = null;
        }).ExcludeFromDescription();

        // A bare endpoint for benchmarks to compare a session check against (bench/wrk); off unless asked for.
        if (endpoints.ServiceProvider.GetRequiredService<IConfiguration>().GetValue<bool>("Tessera:Benchmarks:HelloEndpoint"))
        {
            endpoints.MapGet("/hello", () => "Hello").ExcludeFromDescription();
        }

        return endpoints;
    }
}

/// <summary>Ready when the store answers a trivial query.</summary>
internal sealed class StoreHealthCheck(ITesseraStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await store.IsReadyAsync(cancellationToken) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The store did not answer.");
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The store did not answer.", exception);
        }
    }
}

/// <summary>
/// Ready when this node reaches Redis; degraded (still serving, by reading every session from the store) while
/// it is fenced because it cannot prove it hears every invalidation.
/// </summary>
internal sealed class RedisHealthCheck(StackExchange.Redis.IConnectionMultiplexer redis, Tessera.Redis.RedisClusterState cluster) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["node"] = cluster.NodeId,
            ["state"] = cluster.State.ToString(),
            ["liveNodes"] = cluster.LiveNodes.Count,
        };
        if (!redis.IsConnected)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("Redis is not reachable; sessions are checked against the store.", data: data));
        }

        return Task.FromResult(cluster.State == Tessera.Redis.RedisNodeState.Trusted
            ? HealthCheckResult.Healthy("Redis reachable; this node hears every invalidation.", data)
            : HealthCheckResult.Degraded($"Fenced ({cluster.StateReason}): sessions are checked against the store until the bus is proven again.", data: data));
    }
}
